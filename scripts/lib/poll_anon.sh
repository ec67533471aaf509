# Sourced by the bench scripts. poll_anon PID OUTFILE: the peak RssAnon (heap: kB) of PID
# and its children, polled every 20 ms, written to OUTFILE. Anonymous memory is what grows
# with the data; peak RSS from time(1) also counts mapped library pages. (Before `mavuno`
# was split from `mavuno-torch`, those were ~465 MB of libtorch and hid the pipeline's own
# memory.)
poll_anon() {
  local pid=$1 out=$2 m=0 v p x
  while kill -0 "$pid" 2>/dev/null; do
    v=0
    for p in "$pid" $(pgrep -P "$pid" 2>/dev/null); do
      x=$(awk '/^RssAnon/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
      v=$((v + ${x:-0}))
    done
    ((v > m)) && m=$v
    sleep 0.02
  done
  echo "$m" > "$out"
}
