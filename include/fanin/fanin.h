// The core of fanin's public API: tensors, backends, layers, models, data sets, hooks and
// statistics, checkpoints. The HDF5 recorder (fanin/recorder.h, fanin::recorder) and the
// plots (fanin/plot.h, fanin::plot) are libraries of their own, included and linked apart.
#pragma once

#include "fanin/activation.h"
#include "fanin/backend.h"
#include "fanin/checkpoint.h"
#include "fanin/datasets.h"
#include "fanin/hook.h"
#include "fanin/initializers.h"
#include "fanin/layer.h"
#include "fanin/layers.h"
#include "fanin/loss.h"
#include "fanin/metrics.h"
#include "fanin/model.h"
#include "fanin/ops.h"
#include "fanin/optimizers.h"
#include "fanin/random.h"
#include "fanin/stats_hook.h"
#include "fanin/tensor.h"
