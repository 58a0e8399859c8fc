#!/usr/bin/env bash
# Times the NAF update of an older commit and of this checkout alternately:
#   bash bench/compare_updates.sh [old-commit] [rounds] [extra update_rate.ts options for the new code]
# Default old commit 8404ae7 (the tfjs-autodiff update with per-tensor Adam), 5 rounds. The old
# commit is checked out in a temporary git worktree sharing this checkout's node_modules. Prints
# every run and the ratio of the medians (new / old); run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-8404ae7}; rounds=${2:-5}; shift $(( $# > 2 ? 2 : $# )) || true
wt=$(mktemp -d)/old
git worktree add -q --detach "$wt" "$old"
ln -s "$(pwd)/node_modules" "$wt/node_modules"
trap 'git worktree remove --force "$wt"' EXIT
out=$(mktemp)
for i in $(seq "$rounds"); do
  node --import tsx bench/update_rate.ts --root "$wt" | tee -a "$out"
  node --import tsx bench/update_rate.ts "$@" | tee -a "$out"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const oldR = lines.filter((l, i) => i % 2 === 0).map((l) => l.updatesPerSecond);
const newR = lines.filter((l, i) => i % 2 === 1).map((l) => l.updatesPerSecond);
console.log(JSON.stringify({ oldMedian: med(oldR), newMedian: med(newR), ratio: +(med(newR) / med(oldR)).toFixed(2), old: oldR, new: newR }));
' "$out"
