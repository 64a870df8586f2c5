#!/usr/bin/env bash
# Run by `Scripts/bench s3 [MiB]`.
#
# Against one local S3 (moto_server with signature checks, see Scripts/lib/s3.sh), uploads a file
# of MiB random bytes (default 256) R times (ERGON_BENCH_RUNS, default 5) with
# `ergon bench-s3 upload` and with `aws s3 cp` (awscli 1.45.11, its default transfer settings:
# 8 MiB parts, 10 requests at a time), alternating which goes first; checks each object's size;
# prints each run's times, both median throughputs and the ratio ergon/aws (target ≥ 0.9).
# Both are timed from outside, start-up included. Then ships a 64 MiB log growing over 256
# flushes through the S3 log store and prints the bytes sent per byte of log (target ≤ 2.2 plus
# one part) against re-uploading the whole log at each flush. ERGON_BENCH_BUILD=debug measures a
# debug build; ERGON_BENCH_S3_CONCURRENCY sets Ergon's parts in flight (default 4).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
mib="${1:-256}"
runs="${ERGON_BENCH_RUNS:-5}"
concurrency="${ERGON_BENCH_S3_CONCURRENCY:-4}"
part_mib=8
growth_mib=64
growth_flushes=256

work="$(mktemp -d /tmp/ergon-bench-s3.XXXXXX)"
# A server of its own on a free port: the tests' shared one may be busy, or stopped mid-run by
# the shell that started it.
export ERGON_S3_STATE_DIR="${ERGON_S3_STATE_DIR:-$work/s3}"
export ERGON_S3_PORT="${ERGON_S3_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
source Scripts/lib/prerequisites.sh
source Scripts/lib/s3.sh
bucket="ergon-bench-s3-$$-$RANDOM"
bucket_made=0
cleanup() {
    if [ "$bucket_made" = "1" ]; then
        aws s3 rb "s3://$bucket" --force --only-show-errors >/dev/null 2>&1 || true
    fi
    ergon_s3_down
    rm -rf "$work"
}
trap cleanup EXIT
ergon_apt_install libsqlite3-dev curl
ergon_s3_tools
source Scripts/lib/bench-build.sh
ergon_bench_build release

ergon_s3_up

# The AWS CLI with the server's credentials and nothing from the user's ~/.aws (a profile's
# max_concurrent_requests or multipart_chunksize would change the baseline).
: >"$work/aws-config"
aws() {
    env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 \
        AWS_ACCESS_KEY_ID="$ERGON_S3_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$ERGON_S3_SECRET_ACCESS_KEY" \
        AWS_DEFAULT_REGION="$ERGON_S3_REGION" AWS_CONFIG_FILE="$work/aws-config" \
        AWS_SHARED_CREDENTIALS_FILE="$work/aws-config" AWS_EC2_METADATA_DISABLED=true \
        "$ERGON_AWS_CLI" --endpoint-url "$ERGON_S3_ENDPOINT" "$@"
}

# Prints an object's size, or nothing when it is missing.
object_size() {
    aws s3api head-object --bucket "$bucket" --key "$1" --query ContentLength --output text 2>/dev/null || true
}

file="$work/upload.bin"
head -c "$((mib << 20))" /dev/urandom >"$file"
size="$(stat -c %s "$file")"
if [ "$ERGON_S3_REGION" = "us-east-1" ]; then
    aws s3api create-bucket --bucket "$bucket" >/dev/null
else
    aws s3api create-bucket --bucket "$bucket" \
        --create-bucket-configuration "LocationConstraint=$ERGON_S3_REGION" >/dev/null
fi
bucket_made=1
echo "ergon: $runs runs of a $mib MiB upload to s3://$bucket on $ERGON_S3_ENDPOINT ($config build)" >&2

# Runs one upload with TOOL (ergon or aws) to KEY; appends its wall time to $work/TOOL.times.
upload() {
    local tool="$1" key="$2" start end got
    start="$(date +%s.%N)"
    if [ "$tool" = ergon ]; then
        "$ergon" bench-s3 upload "$file" --bucket "$bucket" --key "$key" --part-size "$part_mib" \
            --concurrency "$concurrency" >"$work/ergon.out" || { echo "ergon bench-s3 upload failed" >&2; exit 1; }
    else
        aws s3 cp "$file" "s3://$bucket/$key" --only-show-errors || { echo "aws s3 cp failed" >&2; exit 1; }
    fi
    end="$(date +%s.%N)"
    got="$(object_size "$key")"
    if [ "$got" != "$size" ]; then
        echo "$tool: s3://$bucket/$key holds ${got:-no object}, not $size bytes" >&2
        exit 1
    fi
    # Keep the server's memory flat over the runs.
    aws s3 rm "s3://$bucket/$key" --only-show-errors
    awk -v start="$start" -v end="$end" 'BEGIN { printf "%.3f\n", end - start }' >>"$work/$tool.times"
}

for run in $(seq 1 "$runs"); do
    if [ $((run % 2)) = 1 ]; then
        upload ergon "object-$run"
        upload aws "aws-object-$run"
    else
        upload aws "aws-object-$run"
        upload ergon "object-$run"
    fi
    printf 'run %d: ergon %6.2f s (%s), aws %6.2f s\n' "$run" "$(tail -1 "$work/ergon.times")" \
        "$(cat "$work/ergon.out")" "$(tail -1 "$work/aws.times")"
done

python3 - "$mib" "$concurrency" "$part_mib" "$work/ergon.times" "$work/aws.times" <<'PY'
import statistics, sys
sys.path.insert(0, "Scripts/lib")
from bench_result import result_line
mib, concurrency, part = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ergon = [float(line) for line in open(sys.argv[4])]
aws = [float(line) for line in open(sys.argv[5])]
me, ma = statistics.median(ergon), statistics.median(aws)
paired = statistics.median(a / e for e, a in zip(ergon, aws))
print(f"aws s3 cp             : {mib / ma:7.1f} MiB/s (median of {len(aws)}: {ma:.2f} s; 8 MiB parts, 10 at a time)")
print(f"ergon bench-s3 upload : {mib / me:7.1f} MiB/s (median of {len(ergon)}: {me:.2f} s; {part} MiB parts, {concurrency} at a time)")
print(f"throughput ergon/aws  : {paired:.2f}x median of the runs' ratios, {ma / me:.2f}x of the medians (target >= 0.9)")
print(result_line(f"s3: upload of {mib} MiB", f"{mib / me:.1f} MiB/s", f"{mib / ma:.1f} MiB/s (aws s3 cp)",
                  f"{paired:.2f}x", ">= 0.90x", paired >= 0.9))
PY

growth="$("$ergon" bench-s3 growth --bucket "$bucket" --size "$growth_mib" --flushes "$growth_flushes" --part-size "$part_mib")" || {
    echo "ergon bench-s3 growth failed" >&2
    exit 1
}
python3 - "$growth" "$growth_mib" "$growth_flushes" "$part_mib" <<'PY'
import sys
sys.path.insert(0, "Scripts/lib")
from bench_result import result_line
fields = dict(item.split("=") for item in sys.argv[1].split())
mib, flushes, part = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
target = 2.2 + part / mib
print(f"growing log           : {mib} MiB over {flushes} flushes, {part} MiB parts; final object read back and equal")
print(f"sent per byte of log  : {float(fields['ratio']):.3f} ({int(fields['sent'])} bytes; target <= {target:.3f}, 2.2 plus one part)")
print(f"whole log per flush   : {float(fields['naive_ratio']):.3f} ({int(fields['naive'])} bytes)")
ratio = float(fields["ratio"])
print(result_line(f"s3: a {mib} MiB log growing over {flushes} flushes", f"{int(fields['sent']) / 2**20:.1f} MiB sent",
                  f"{mib} MiB of log", f"{ratio:.3f}x", f"<= {target:.3f}x", ratio <= target))
PY
