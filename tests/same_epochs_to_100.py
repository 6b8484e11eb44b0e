"""python3 tests/same_epochs_to_100.py ACTIVATION_STUDY FANIN_EXPERIMENT SPEC OUT SEEDS

The activation study's spec (experiments/activation_study.toml) gives the program's numbers:
runs `activation_study --seeds SEEDS` and `fanin_experiment run SPEC --seeds SEEDS`, and
passes when, for every activation and seed, the program's epoch_100pct equals the runner's
epochs_to_accuracy (empty for inf: 100% never reached) and its final_loss (6 significant
digits) the runner's final_loss rounded the same way.
"""
import csv
import shutil
import subprocess
import sys

study, runner, spec, out, seeds = sys.argv[1:6]
shutil.rmtree(out, ignore_errors=True)
for command in ([study, "--seeds", seeds, "--device", "cpu", "--out", out + "/study"],
                [runner, "run", spec, "--seeds", seeds, "--device", "cpu", "--out",
                 out + "/spec"]):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

program = {}
with open(out + "/study/epochs_to_100.csv") as f:
    for row in csv.DictReader(f):
        program[(row["activation"], row["seed"])] = (row["epoch_100pct"], row["final_loss"])
spec_values = {}
with open(out + "/spec/results.csv") as f:
    for row in csv.DictReader(f):
        if row["statistic"] in ("epochs_to_accuracy", "final_loss"):
            spec_values.setdefault((row["config"], row["seed"]), {})[row["statistic"]] = row["value"]

failures = 0
for key, (epoch, loss) in sorted(program.items()):
    got = spec_values.get(key, {})
    got_epoch = got.get("epochs_to_accuracy")
    got_epoch = "" if got_epoch == "inf" else got_epoch
    got_loss = "%.6g" % float(got["final_loss"]) if "final_loss" in got else None
    if (got_epoch, got_loss) != (epoch, loss):
        print("%s seed %s: activation_study %r, %r; the spec %r, %r"
              % (key[0], key[1], epoch, loss, got_epoch, got_loss))
        failures += 1
if len(spec_values) != len(program):
    print("the spec has %d runs, the program %d" % (len(spec_values), len(program)))
    failures += 1
print("%d runs compared, %d differ" % (len(program), failures))
shutil.rmtree(out, ignore_errors=True)
sys.exit(1 if failures else 0)
