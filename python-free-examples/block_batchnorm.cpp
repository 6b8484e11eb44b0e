// The BLOCK model with and without batch normalization: the initializer post's model (five
// tanh layers of 100, glorot_normal, one logit; SGD 0.01, batches of 16, the ball data set),
// and the same with a BatchNormalization after each hidden layer. For every seed it measures
// each Dense layer's std(dL/dW) / std(W) on all 1,000 points, before training and after each
// epoch, and writes ratios.csv, ratios.svg (median and 10th-90th percentile band over seeds,
// layer by layer) and index.html.
//
//   block_batchnorm [--seeds 10] [--epochs 5] [--out out/block_batchnorm] [--device cpu]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "fanin/command_line.h"
#include "fanin/fanin.h"
#include "fanin/plot.h"

namespace {

struct Options {
  int seeds = 10;
  int epochs = 5;
  std::string out = "out/block_batchnorm";
  std::string device = "auto";
};

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app(
      "Compares the BLOCK model's per-layer gradient ratios with and without batch "
      "normalization, over seeds, before and during training.",
      "block_batchnorm");
  fanin::cli::ShowDefaults(app);
  app.add_option("--seeds", o.seeds, "seeds per variant (data, weights and shuffles)")
      ->transform(fanin::cli::Integer(1, 10000));
  app.add_option("--epochs", o.epochs, "training epochs; ratios are measured after each")
      ->transform(fanin::cli::Integer(0, 10000));
  app.add_option("--out", o.out, "output directory (created; its files replaced)");
  app.add_option("--device", o.device, "backend: cpu, cuda, auto (cuda when usable, else cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  fanin::cli::ParseOrExit(app, argc, argv);
  return o;
}

const char* const kVariants[] = {"plain", "batchnorm"};
const char* const kLayers[] = {"h1", "h2", "h3", "h4", "h5", "out"};
constexpr int kNumLayers = 6;

fanin::Sequential Block(const std::string& device, bool batch_norm, uint64_t seed) {
  fanin::Sequential m(fanin::MakeBackend(device));
  for (int i = 0; i < 5; ++i) {
    m.Add(fanin::Dense(100, "tanh", "glorot_normal"));
    if (batch_norm) m.Add(fanin::BatchNormalization());
  }
  m.Add(fanin::Dense(1, "linear", "glorot_normal"));
  m.Compile(fanin::BinaryCrossEntropy(), fanin::Sgd{.learning_rate = 0.01f});
  m.Build(10, seed);
  return m;
}

// std(dL/dW) / std(W) of each Dense layer (the layers with a kernel), after one forward and
// backward pass over all points. With batch normalization that pass is a training pass: it
// normalizes by the full data set's statistics and moves the moving statistics one step,
// as a Keras train step on the full batch would.
std::vector<double> Ratios(fanin::Sequential& model, const fanin::Dataset& data) {
  model.ComputeGradients(data.x, data.y);
  const fanin::StepStats step = fanin::ComputeStepStats(model, {}, {}, 0);
  std::vector<double> ratios;
  for (const fanin::LayerStats& layer : step.layers) {
    if (layer["kernel"]) ratios.push_back(layer.grad_ratio);
  }
  return ratios;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::filesystem::create_directories(o.out);
  // ratios[variant][epoch][layer]: one value per seed.
  std::vector<std::vector<std::vector<std::vector<double>>>> ratios(
      2, std::vector<std::vector<std::vector<double>>>(
             static_cast<size_t>(o.epochs + 1), std::vector<std::vector<double>>(kNumLayers)));
  std::vector<std::vector<std::vector<double>>> losses(
      2, std::vector<std::vector<double>>(static_cast<size_t>(o.epochs)));
  std::ofstream csv(o.out + "/ratios.csv");
  csv << "variant,seed,epoch,layer,grad_ratio\n";
  const auto start = std::chrono::steady_clock::now();
  for (int v = 0; v < 2; ++v) {
    for (int s = 0; s < o.seeds; ++s) {
      const auto seed = static_cast<uint64_t>(s);
      const fanin::Dataset data = fanin::Ball(10, 1000, 0.5, seed);
      fanin::Sequential model = Block(o.device, v == 1, seed);
      for (int epoch = 0; epoch <= o.epochs; ++epoch) {
        if (epoch > 0) {
          const fanin::History h = model.Fit(data.x, data.y,
                                             {.epochs = epoch,
                                              .initial_epoch = epoch - 1,
                                              .batch_size = 16,
                                              .shuffle_seed = seed});
          losses[v][static_cast<size_t>(epoch - 1)].push_back(h.epochs.back().loss);
        }
        const std::vector<double> r = Ratios(model, data);
        for (int l = 0; l < kNumLayers; ++l) {
          ratios[v][static_cast<size_t>(epoch)][l].push_back(r[static_cast<size_t>(l)]);
          csv << kVariants[v] << ',' << s << ',' << epoch << ',' << kLayers[l] << ','
              << r[static_cast<size_t>(l)] << '\n';
        }
      }
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s seed %d/%d done (%.1f s)\n", kVariants[v], s + 1, o.seeds, elapsed);
    }
  }
  csv.close();

  // The figure: ratio against layer at initialization and after the last epoch; the loss.
  namespace plot = fanin::plot;
  plot::Figure figure({.rows = 1,
                       .cols = o.epochs > 0 ? 3 : 1,
                       .title = "BLOCK model: std(dL/dW) / std(W) per layer, median and "
                                "10th-90th percentile over " +
                                std::to_string(o.seeds) + " seeds"});
  const std::vector<std::string> layer_names(std::begin(kLayers), std::end(kLayers));
  for (int panel = 0; panel < (o.epochs > 0 ? 2 : 1); ++panel) {
    const size_t epoch = panel == 0 ? 0 : static_cast<size_t>(o.epochs);
    plot::Axes& ax = figure.At(0, panel);
    ax.title = panel == 0 ? "at initialization" : "after " + std::to_string(o.epochs) + " epochs";
    ax.x_label = "layer";
    ax.y_label = "std(dL/dW) / std(W)";
    ax.y_scale = plot::Scale::kLog10;
    ax.categories = layer_names;
    for (int v = 0; v < 2; ++v) {
      plot::Band band{.color = plot::PaletteColor(static_cast<size_t>(v))};
      plot::Line median{.label = kVariants[v], .color = band.color, .markers = true};
      for (int l = 0; l < kNumLayers; ++l) {
        plot::AppendPercentiles(l, plot::QuantilesOf(ratios[v][epoch][l]), band, median);
      }
      ax.Add(band).Add(median);
    }
  }
  if (o.epochs > 0) {
    plot::Axes& ax = figure.At(0, 2);
    ax.title = "training loss (mean over each epoch)";
    ax.x_label = "epoch";
    ax.y_label = "binary cross-entropy";
    for (int v = 0; v < 2; ++v) {
      plot::Band band{.color = plot::PaletteColor(static_cast<size_t>(v))};
      plot::Line median{.label = kVariants[v], .color = band.color, .markers = true};
      for (int e = 0; e < o.epochs; ++e) {
        plot::AppendPercentiles(e + 1, plot::QuantilesOf(losses[v][static_cast<size_t>(e)]), band,
                                median);
      }
      ax.Add(band).Add(median);
    }
  }
  figure.Save(o.out + "/ratios.svg");

  std::vector<std::vector<std::string>> table = {{"layer", "plain, init", "batchnorm, init"}};
  if (o.epochs > 0) {
    table[0].push_back("plain, epoch " + std::to_string(o.epochs));
    table[0].push_back("batchnorm, epoch " + std::to_string(o.epochs));
  }
  char cell[32];
  for (int l = 0; l < kNumLayers; ++l) {
    std::vector<std::string> row = {kLayers[l]};
    for (const size_t epoch : {size_t{0}, static_cast<size_t>(o.epochs)}) {
      if (epoch > 0 && o.epochs == 0) break;
      for (int v = 0; v < 2; ++v) {
        std::snprintf(cell, sizeof cell, "%.4g", plot::QuantilesOf(ratios[v][epoch][l]).median);
        row.push_back(cell);
      }
      if (o.epochs == 0) break;
    }
    table.push_back(row);
  }
  plot::Report report("The BLOCK model with and without batch normalization");
  report
      .Paragraph(
          "Five Dense(100, tanh, glorot_normal) layers and a Dense(1) logit, trained with "
          "SGD (learning rate 0.01, batches of 16) on the ball data set (10 dimensions, "
          "1,000 points, seed s for the data, the weights and the shuffles); the "
          "batchnorm variant adds a BatchNormalization (momentum 0.99, epsilon 0.001) "
          "after each hidden layer. The ratio is measured for each Dense layer on all "
          "1,000 points in one training-mode pass (with batch normalization: the full "
          "data set's statistics), before training and after each epoch.")
      .Image("ratios.svg")
      .Heading("Median ratio over seeds")
      .Table(table)
      .Link("ratios.csv", "ratios.csv: every seed, epoch and layer");
  report.Save(o.out + "/index.html");
  std::printf("block_batchnorm: wrote %s/index.html\n", o.out.c_str());
  return 0;
}
