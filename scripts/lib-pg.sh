# shellcheck shell=bash
# shellcheck disable=SC2034  # STEWARD_PG_SOURCE is read by the sourcing script
# Helpers for scripts/test: logging, apt installs, exit hooks and the
# PostgreSQL set-up of the test suite. Meant to be sourced by a bash script
# running with `set -euo pipefail`; it changes no shell option itself.
#
# Entry points:
#   steward_apt_install PKG...   install Debian packages (apt-get update once)
#   steward_on_exit CMD...       run CMD when the script exits (LIFO)
#   steward_pg_setup             export STEWARD_TEST_POSTGRES_URL (see below)
#
# steward_pg_setup picks, in order:
#   a. STEWARD_TEST_POSTGRES_URL, if already set and non-empty;
#   b. a PostgreSQL answering on 127.0.0.1:5432, as user postgres or root,
#      provided that user may create databases;
#   c. a throwaway cluster (initdb -A trust) on a free port of 127.0.0.1,
#      stopped and removed when the script exits.
# STEWARD_TEST_PG_FORCE_THROWAWAY=1 skips a. and b.
# It must be called in the main shell (not in $(...)), since it exports
# variables and registers an exit hook.

steward_log() { printf 'scripts/test: %s\n' "$*" >&2; }

steward_die() {
    printf 'scripts/test: ERROR: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- exit hooks
STEWARD_EXIT_HOOKS=()
STEWARD_EXIT_TRAP_SET=0

steward_run_exit_hooks() {
    local status=$? i
    trap - EXIT
    for ((i = ${#STEWARD_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${STEWARD_EXIT_HOOKS[i]}" || true
    done
    exit "$status"
}

steward_on_exit() {
    STEWARD_EXIT_HOOKS+=("$*")
    if [[ $STEWARD_EXIT_TRAP_SET == 0 ]]; then
        STEWARD_EXIT_TRAP_SET=1
        trap steward_run_exit_hooks EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
    fi
}

# ---------------------------------------------------------------------- apt
STEWARD_APT_UPDATED=0
STEWARD_APT_LOG=${STEWARD_APT_LOG:-}

steward_apt_log_file() {
    if [[ -z $STEWARD_APT_LOG ]]; then
        STEWARD_APT_LOG=$(mktemp /tmp/steward-test-apt.XXXXXX.log)
    fi
}

steward_apt_show_log() {
    if [[ -n $STEWARD_APT_LOG && -s $STEWARD_APT_LOG ]]; then
        printf '%s\n' "---- last lines of $STEWARD_APT_LOG ----" >&2
        tail -n 100 "$STEWARD_APT_LOG" >&2 || true
        printf '%s\n' "---- end of $STEWARD_APT_LOG ----" >&2
    fi
}

steward_apt_install() {
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            steward_die "need to install Debian packages ($*) but not root and no password-less sudo; install them by hand"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 ||
        steward_die "need Debian packages ($*) but apt-get is not available"
    steward_apt_log_file
    local apt_opts=(-q -o DPkg::Lock::Timeout=600)
    if [[ $STEWARD_APT_UPDATED == 0 ]]; then
        steward_log "apt-get update (log: $STEWARD_APT_LOG)"
        if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get "${apt_opts[@]}" update </dev/null >>"$STEWARD_APT_LOG" 2>&1; then
            steward_log "warning: apt-get update failed; trying the install anyway"
        fi
        STEWARD_APT_UPDATED=1
    fi
    steward_log "apt-get install $* (log: $STEWARD_APT_LOG)"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get "${apt_opts[@]}" install -y "$@" </dev/null >>"$STEWARD_APT_LOG" 2>&1; then
        steward_apt_show_log
        steward_die "apt-get install $* failed (full log: $STEWARD_APT_LOG)"
    fi
}

# ---------------------------------------------------------------- PostgreSQL
STEWARD_PG_TMPDIR=
STEWARD_PG_USER=
STEWARD_PG_BINDIR=
STEWARD_PG_SOURCE=

# Prints the URL with any password masked.
steward_pg_redact() {
    printf '%s\n' "$1" | sed -E 's#^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*):[^@/]*@#\1:***@#'
}

steward_pg_port_open() { # HOST PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

steward_pg_ensure_client() {
    if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
        steward_apt_install postgresql-client
    fi
}

# True when URL accepts a connection and its user may create databases.
steward_pg_url_usable() { # URL
    local out
    out=$(PGCONNECT_TIMEOUT=5 psql -X -A -t -q -v ON_ERROR_STOP=1 "$1" \
        -c 'select rolsuper or rolcreatedb from pg_roles where rolname = current_user' \
        </dev/null 2>/dev/null) || return 1
    [[ $out == t ]]
}

steward_pg_find_bindir() {
    local d candidates=()
    # Debian layout first, newest version first.
    while IFS= read -r d; do
        [[ -n $d ]] && candidates+=("$d")
    done < <(shopt -s nullglob; printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(readlink -f "$(command -v initdb)")")")
    fi
    for d in "${candidates[@]}"; do
        if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

# Runs a command as the unprivileged cluster owner, from the temp dir.
steward_pg_as_user() {
    if [[ $(id -u) == 0 ]]; then
        (cd "$STEWARD_PG_TMPDIR" && runuser -u "$STEWARD_PG_USER" -- "$@")
    else
        (cd "$STEWARD_PG_TMPDIR" && "$@")
    fi
}

steward_pg_cleanup() {
    [[ -n $STEWARD_PG_TMPDIR && -d $STEWARD_PG_TMPDIR ]] || return 0
    if [[ -f $STEWARD_PG_TMPDIR/data/postmaster.pid ]]; then
        steward_pg_as_user "$STEWARD_PG_BINDIR/pg_ctl" -D "$STEWARD_PG_TMPDIR/data" \
            -m fast -w -t 30 stop >/dev/null 2>&1 ||
            steward_pg_as_user "$STEWARD_PG_BINDIR/pg_ctl" -D "$STEWARD_PG_TMPDIR/data" \
                -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf -- "$STEWARD_PG_TMPDIR"
    STEWARD_PG_TMPDIR=
}

steward_pg_start_throwaway() {
    STEWARD_PG_BINDIR=$(steward_pg_find_bindir) || {
        steward_apt_install postgresql
        STEWARD_PG_BINDIR=$(steward_pg_find_bindir) ||
            steward_die "package postgresql installed but no initdb/pg_ctl found under /usr/lib/postgresql/*/bin"
    }
    steward_pg_ensure_client

    if [[ $(id -u) == 0 ]]; then
        if id -u postgres >/dev/null 2>&1; then
            STEWARD_PG_USER=postgres
        else
            if ! id -u steward-test >/dev/null 2>&1; then
                useradd --system --no-create-home --home-dir /nonexistent \
                    --shell /usr/sbin/nologin steward-test ||
                    steward_die "could not create user steward-test to own the throwaway PostgreSQL cluster"
            fi
            STEWARD_PG_USER=steward-test
        fi
    else
        STEWARD_PG_USER=$(id -un)
    fi

    # Short path: the Unix socket lives here too (108-byte limit).
    STEWARD_PG_TMPDIR=$(mktemp -d /tmp/steward-pg.XXXXXX)
    steward_on_exit steward_pg_cleanup
    if [[ $(id -u) == 0 ]]; then
        chown "$STEWARD_PG_USER:" "$STEWARD_PG_TMPDIR"
    fi
    chmod 0700 "$STEWARD_PG_TMPDIR"

    local data=$STEWARD_PG_TMPDIR/data log=$STEWARD_PG_TMPDIR/postgres.log
    steward_log "starting a throwaway PostgreSQL ($STEWARD_PG_BINDIR, user $STEWARD_PG_USER, dir $STEWARD_PG_TMPDIR)"
    if ! steward_pg_as_user "$STEWARD_PG_BINDIR/initdb" -D "$data" -A trust -U postgres \
        -E UTF8 --no-locale --no-sync >"$STEWARD_PG_TMPDIR/initdb.log" 2>&1; then
        cat "$STEWARD_PG_TMPDIR/initdb.log" >&2 || true
        steward_die "initdb failed for the throwaway PostgreSQL cluster"
    fi
    cat >>"$data/postgresql.conf" <<CONF
# steward scripts/test throwaway cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STEWARD_PG_TMPDIR'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF

    local attempt port started=0
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        steward_pg_port_open 127.0.0.1 "$port" && continue
        if steward_pg_as_user "$STEWARD_PG_BINDIR/pg_ctl" -D "$data" -l "$log" \
            -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
            started=1
            break
        fi
        steward_log "throwaway PostgreSQL did not start on port $port (attempt $attempt)"
    done
    if [[ $started != 1 ]]; then
        tail -n 50 "$log" >&2 2>/dev/null || true
        steward_die "could not start a throwaway PostgreSQL cluster"
    fi

    local url="postgres://postgres@127.0.0.1:$port/postgres" i
    for ((i = 0; i < 60; i++)); do
        steward_pg_url_usable "$url" && break
        sleep 0.5
    done
    if ! steward_pg_url_usable "$url"; then
        tail -n 50 "$log" >&2 2>/dev/null || true
        steward_die "throwaway PostgreSQL started on port $port but psql cannot use it"
    fi
    STEWARD_TEST_POSTGRES_URL=$url
}

steward_pg_setup() {
    local url
    if [[ ${STEWARD_TEST_PG_FORCE_THROWAWAY:-0} != 1 ]]; then
        # a. given by the caller
        if [[ -n ${STEWARD_TEST_POSTGRES_URL:-} ]]; then
            if command -v psql >/dev/null 2>&1 && ! steward_pg_url_usable "$STEWARD_TEST_POSTGRES_URL"; then
                steward_die "STEWARD_TEST_POSTGRES_URL=$(steward_pg_redact "$STEWARD_TEST_POSTGRES_URL") does not accept a connection from a user that may create databases"
            fi
            export STEWARD_TEST_POSTGRES_URL
            STEWARD_PG_SOURCE="given by STEWARD_TEST_POSTGRES_URL"
            return 0
        fi
        # b. a server on 127.0.0.1:5432
        local up=0
        if command -v pg_isready >/dev/null 2>&1; then
            pg_isready -q -h 127.0.0.1 -p 5432 -t 5 && up=1
        elif steward_pg_port_open 127.0.0.1 5432; then
            up=1
        fi
        if [[ $up == 1 ]]; then
            steward_pg_ensure_client
            for url in postgres://postgres@127.0.0.1:5432/postgres postgres://root@127.0.0.1:5432/postgres; do
                if steward_pg_url_usable "$url"; then
                    export STEWARD_TEST_POSTGRES_URL=$url
                    STEWARD_PG_SOURCE="server on 127.0.0.1:5432"
                    return 0
                fi
            done
            steward_log "PostgreSQL answers on 127.0.0.1:5432 but neither postgres nor root can connect and create databases; using a throwaway cluster"
        fi
    fi
    # c. throwaway cluster
    steward_pg_start_throwaway
    export STEWARD_TEST_POSTGRES_URL
    STEWARD_PG_SOURCE="throwaway cluster in $STEWARD_PG_TMPDIR"
}
