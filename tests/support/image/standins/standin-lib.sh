# Shared helpers for the stand-in programs of the magflow-console test image.
# Sourced by /usr/local/bin/{alembic,celery,pg_dump,uvicorn}; busybox sh only.
#
# standin_record NAME ARGS...   append the argv (one line) to /tmp/standin-NAME.log
# standin_exit_code NAME        exit code chosen by $STANDIN_<NAME>_EXIT, or by the
#                               file /tmp/standin-NAME.exit when present (file wins)
# standin_now                   "2025-10-21 20:46:52,720"-style local time
# standin_extra_lines [N]       prints $STANDIN_LOG_LINES (a test's own log lines); with
#                               N, only when N is a multiple of 50 (the loops call it
#                               with their counter, so the lines stay in the last 500)

standin_record() {
    _name=$1
    shift
    echo "$*" >>"/tmp/standin-$_name.log" 2>/dev/null || true
}

standin_exit_code() {
    _var=$(echo "STANDIN_$1_EXIT" | tr 'a-z-' 'A-Z_')
    _code=$(eval "echo \${$_var:-0}")
    if [ -f "/tmp/standin-$1.exit" ]; then
        _code=$(cat "/tmp/standin-$1.exit")
    fi
    echo "${_code:-0}"
}

standin_now() {
    _frac=$(cut -d' ' -f1 /proc/uptime | cut -d. -f2)
    echo "$(date '+%Y-%m-%d %H:%M:%S'),${_frac}0"
}

standin_uuid() {
    cat /proc/sys/kernel/random/uuid
}

standin_extra_lines() {
    [ -n "${1:-}" ] && [ $(($1 % 50)) -ne 0 ] && return 0
    [ -n "${STANDIN_LOG_LINES:-}" ] && printf '%s\n' "$STANDIN_LOG_LINES"
    return 0
}
