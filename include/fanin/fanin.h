// The whole public API of fanin.
#pragma once

#include "fanin/activation.h"
#include "fanin/backend.h"
#include "fanin/checkpoint.h"
#include "fanin/datasets.h"
#include "fanin/hook.h"
#include "fanin/initializers.h"
#include "fanin/layer.h"
#include "fanin/layers.h"
#include "fanin/model.h"
#include "fanin/optimizers.h"
#include "fanin/plot.h"
#include "fanin/random.h"
#include "fanin/recorder.h"
#include "fanin/stats_hook.h"
#include "fanin/tensor.h"
