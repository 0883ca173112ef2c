#!/bin/sh
# Stand-in for MagFlow's docker-entrypoint.sh as images built from 2025-10-22 on carry it
# (the older script is docker-entrypoint-old.sh). It writes what the real one writes,
# line for line and stream for stream, as the stack sheet describes it (§1.2, corrected
# by §11.1), runs the stand-in alembic the way the real one runs alembic, and then
# execs the command.
#
# Streams: the start, db-wait and init lines, "Running database migrations..." and
# "Application ready to start!" on stdout; every line printed inside the migration
# retry loop (attempt, failed, race, completed, verification, "Unexpected migration
# error:", "Retrying in 3 seconds...", "Migration failed after 3 attempts!") and
# "Migration process failed!" on stderr. Alembic's output is captured (2>&1) and
# replayed on stdout after "Migrations completed successfully!" and after "Unexpected
# migration error:"; on the race path it is discarded. The init script's own error is
# Python's, on stderr.
#
# Emoji: the sheet names the set (rocket, hourglass, check mark, cross mark, magnifier,
# wrench, arrows, memo, warning, sleep, party popper), not which line carries which.
# The mapping used here:
#   🚀 rocket        MagFlow ERP - Starting application...
#   ⏳ hourglass     Waiting for database to be ready... / Attempt n/30 - Database not
#                    ready yet... / Retrying in 3 seconds...
#   ✅ check mark    Database is ready! / Database already initialized / Database
#                    initialized successfully! / Migrations completed successfully! /
#                    Migrations completed by another container!
#   ❌ cross mark    Database connection timeout after 30 attempts / Database
#                    initialization failed! / Unexpected migration error: / Migration
#                    verification failed after 3 attempts! / Migration failed after 3
#                    attempts! / Migration process failed!
#   🔍 magnifier     Checking database initialization status... / Retrying migration check...
#   🔧 wrench        Initializing database...
#   🔄 arrows        Running database migrations... / Race condition detected (...)
#   📝 memo          Migration attempt n/3...
#   ⚠️ warning       Migration attempt n failed with exit code X (two spaces follow it)
#   💤 sleep         Waiting for other container to complete migrations...
#   🎉 party popper  Application ready to start!
# Indented (three spaces before the emoji): the progress lines inside a loop (Attempt
# n/30, Migration attempt n/3, Waiting for other container, Retrying migration check,
# Retrying in 3 seconds). The waits (2 s between database tries, attempt x 2 s on the
# race path, 3 s before a retry) are left out: they change no byte of the output.
#
# STANDIN_ENTRYPOINT selects the path taken (the stand-in alembic's exit code and error
# are set for its run accordingly):
#   ok (default)  alembic succeeds; migrations complete, the service command follows
#   race          alembic fails with "already exists" (the race regex matches) and a
#                 version row exists: "completed by another container" (not proof of head)
#   fail          alembic fails 3 times with a non-race error ("Can't locate revision"),
#                 exit 1 (a restart loop under unless-stopped)
#   initfail      empty database, init script missing, exit 1
#   dbtimeout     database never ready (shortened to 3 attempts), exit 1
# STANDIN_VERSION_ROWS (race: 1, else 0) is what the race path's row count finds; with
# race and 0 the loop ends in "Migration verification failed after 3 attempts!".
mode=${STANDIN_ENTRYPOINT:-ok}
case "$mode" in
race)
    alembic_exit=1 alembic_error=duplicate_column rows=${STANDIN_VERSION_ROWS:-1}
    ;;
fail)
    alembic_exit=1 alembic_error=unknown_revision rows=${STANDIN_VERSION_ROWS:-0}
    ;;
*)
    alembic_exit=0 alembic_error=duplicate_column rows=${STANDIN_VERSION_ROWS:-0}
    ;;
esac

run_migrations() {
    attempt=1
    while [ "$attempt" -le 3 ]; do
        echo "   📝 Migration attempt $attempt/3..." >&2
        code=0
        output=$(STANDIN_ALEMBIC_EXIT=$alembic_exit STANDIN_ALEMBIC_ERROR=$alembic_error \
            alembic upgrade head 2>&1) || code=$?
        if [ "$code" -eq 0 ]; then
            echo "✅ Migrations completed successfully!" >&2
            printf '%s\n' "$output"
            return 0
        fi
        echo "⚠️  Migration attempt $attempt failed with exit code $code" >&2
        if printf '%s\n' "$output" | grep -qE 'duplicate key|already exists|UniqueViolation|pg_type_typname_nsp_index'; then
            echo "🔄 Race condition detected (another container is running migrations)" >&2
            echo "   💤 Waiting for other container to complete migrations..." >&2
            echo "   🔍 Retrying migration check..." >&2
            if [ "$rows" -gt 0 ]; then
                echo "✅ Migrations completed by another container!" >&2
                return 0
            fi
            if [ "$attempt" -eq 3 ]; then
                echo "❌ Migration verification failed after 3 attempts!" >&2
                return 1
            fi
        else
            echo "❌ Unexpected migration error:" >&2
            printf '%s\n' "$output"
            if [ "$attempt" -lt 3 ]; then
                echo "   ⏳ Retrying in 3 seconds..." >&2
            fi
        fi
        attempt=$((attempt + 1))
    done
    echo "❌ Migration failed after 3 attempts!" >&2
    return 1
}

echo "🚀 MagFlow ERP - Starting application..."
echo "⏳ Waiting for database to be ready..."
if [ "$mode" = dbtimeout ]; then
    for n in 1 2 3; do
        echo "   ⏳ Attempt $n/30 - Database not ready yet..."
    done
    echo "❌ Database connection timeout after 30 attempts"
    exit 1
fi
echo "✅ Database is ready!"
echo "🔍 Checking database initialization status..."
if [ "$mode" = initfail ]; then
    echo "🔧 Initializing database..."
    echo "python: can't open file '/app/scripts/init_database_complete.py': [Errno 2] No such file or directory" >&2
    echo "❌ Database initialization failed!"
    exit 1
fi
echo "✅ Database already initialized"
echo "🔄 Running database migrations..."
if ! run_migrations; then
    echo "❌ Migration process failed!" >&2
    exit 1
fi
echo "🎉 Application ready to start!"
exec "$@"
