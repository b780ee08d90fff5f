#!/usr/bin/env bash
# Entrypoint of the test stand-in for postgres:15-bookworm (see the Dockerfile beside it).
#
# It keeps the behaviour of docker-library/postgres' docker-entrypoint.sh that images and scripts
# depend on, including the names of the functions an initdb.d script may call when it is sourced
# (docker_process_sql, file_env, docker_temp_server_start/stop, ...) and the messages tests grep
# for. On an empty PGDATA: initdb as postgres (the password reaches --pwfile through a pipe, never
# argv), a `host all all all <method>` line in pg_hba.conf, a temporary server on the unix socket
# only, POSTGRES_DB created, /docker-entrypoint-initdb.d run, the temporary server stopped; then,
# at every start, exec the command (postgres). Started as root, it first hands PGDATA to postgres
# and runs itself again as postgres (setpriv, with postgres' own groups like gosu).
#
# The script can also be sourced (`. docker-entrypoint.sh`) to reuse its functions without _main.
set -Eeo pipefail

# file_env VAR [DEFAULT]: export VAR from $VAR, else from the file named by $VAR_FILE, else DEFAULT;
# both set is an error. Trailing newlines of the file are dropped (command substitution).
file_env() {
	local var=$1 default=${2:-} value
	local file_var="${var}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$file_var"
		exit 1
	fi
	value=$default
	if [ -n "${!var:-}" ]; then
		value=${!var}
	elif [ -n "${!file_var:-}" ]; then
		# cat, not $(< file): under set -e bash exits at a failed $(< file) even inside `if !`.
		if ! value=$(cat -- "${!file_var}"); then
			printf >&2 'error: %s names %s, which uid %s (groups %s) cannot read\n' \
				"$file_var" "${!file_var}" "$(id -u)" "$(id -G)"
			exit 1
		fi
	fi
	export "$var=$value"
	unset "$file_var"
}

# True when this file is being sourced rather than run.
_is_sourced() {
	[ "${#FUNCNAME[@]}" -ge 2 ] && [ "${FUNCNAME[0]}" = _is_sourced ] && [ "${FUNCNAME[1]}" = source ]
}

# Read the configuration; call before the other functions.
docker_setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	declare -g DATABASE_ALREADY_EXISTS="${DATABASE_ALREADY_EXISTS:-}"
	# PG_VERSION is what initdb writes first that a foreign directory (lost+found, ...) lacks.
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# Make PGDATA, the socket directory and the WAL directory; as root, give them to postgres.
# Failures of mkdir/chmod are tolerated where a non-root --user may not own the image's directories.
docker_create_db_directories() {
	local uid; uid=$(id -u)
	mkdir -p "$PGDATA"
	chmod 0700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 3775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$uid" = 0 ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 0700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$uid" = 0 ]; then
		find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

# Warn about a password psql cannot take through PGPASSWORD, refuse to initialise without a
# password unless POSTGRES_HOST_AUTH_METHOD=trust, and warn loudly about trust.
docker_verify_minimum_env() {
	if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
		cat >&2 <<-'EOWARN'

			WARNING: The supplied POSTGRES_PASSWORD is 100+ characters.
			  This will not work if used via PGPASSWORD with "psql" (PostgreSQL BUG #6412).

		EOWARN
	fi
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOERR'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
			       (Or POSTGRES_PASSWORD_FILE naming a file that holds it.)

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.

			       See PostgreSQL documentation about "trust":
			       https://www.postgresql.org/docs/current/auth-trust.html
		EOERR
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		cat >&2 <<-'EOWARN'
			********************************************************************************
			WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
			         anyone with access to the Postgres port to access your database without
			         a password, even if POSTGRES_PASSWORD is set.
			         https://www.postgresql.org/docs/current/auth-trust.html
			********************************************************************************
		EOWARN
	fi
}

# initdb into PGDATA as the current user; extra arguments go to initdb after POSTGRES_INITDB_ARGS.
docker_init_database_dir() {
	# initdb needs the current uid in the passwd database: for a --user that /etc/passwd does not
	# know, describe it through libnss-wrapper for the length of initdb.
	local uid wrapper nss_wrapped=
	uid=$(id -u)
	if ! getent passwd "$uid" > /dev/null 2>&1; then
		for wrapper in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so /lib/*/libnss_wrapper.so; do
			if [ -s "$wrapper" ]; then
				NSS_WRAPPER_PASSWD=$(mktemp)
				NSS_WRAPPER_GROUP=$(mktemp)
				nss_wrapped=1
				printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$(id -g)" "$PGDATA" > "$NSS_WRAPPER_PASSWD"
				printf 'postgres:x:%s:\n' "$(id -g)" > "$NSS_WRAPPER_GROUP"
				export LD_PRELOAD=$wrapper NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
				break
			fi
		done
	fi

	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# POSTGRES_INITDB_ARGS is shell words (quotes allowed), as in the official image.
	local -a initdb_args
	eval "initdb_args=( $POSTGRES_INITDB_ARGS )"
	# The password goes through a pipe (/dev/fd/N), so it is neither on argv nor on disk; the
	# newline keeps an empty password from being an empty file, which --pwfile rejects.
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		"${initdb_args[@]}" "$@"

	if [ -n "$nss_wrapped" ]; then
		rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
		unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
	fi
}

# Allow TCP from anywhere with POSTGRES_HOST_AUTH_METHOD, by default the server's
# password_encryption (scram-sha-256). Arguments: the server command line (for -c settings).
pg_setup_hba_conf() {
	if [ "${1:-}" = postgres ]; then shift; fi
	local method
	method=$(postgres -C password_encryption "$@")
	: "${POSTGRES_HOST_AUTH_METHOD:=$method}"
	{
		printf '\n'
		if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
			printf '# warning: trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >> "$PGDATA/pg_hba.conf"
}

# Start a server for the set-up, on the unix socket only (no TCP until init is done).
# Arguments: the server command line, whose settings it keeps.
docker_temp_server_start() {
	if [ "${1:-}" = postgres ]; then shift; fi
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" \
		pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

docker_temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" \
		pg_ctl -D "$PGDATA" -m fast -w stop
}

# psql on the unix socket as POSTGRES_USER into POSTGRES_DB, stopping at the first error.
#   docker_process_sql -f file.sql    docker_process_sql <<<'SELECT 1'    docker_process_sql --dbname x
docker_process_sql() {
	local -a runner=( psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
	if [ -n "$POSTGRES_DB" ]; then
		runner+=( --dbname "$POSTGRES_DB" )
	fi
	PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

# Create POSTGRES_DB unless it exists (postgres, template1, ...).
docker_setup_db() {
	local db=$POSTGRES_DB exists
	exists=$(POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$db" --tuples-only --no-align <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db';
	EOSQL
	)
	if [ -z "$exists" ]; then
		POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$db" <<-'EOSQL'
			CREATE DATABASE :"db";
		EOSQL
		printf '\n'
	fi
}

# Run init files in the order given: *.sh executed when executable, else sourced (so it sees these
# functions and variables); *.sql, *.sql.gz, *.sql.xz, *.sql.zst through docker_process_sql.
docker_process_init_files() {
	# Older init scripts call "${psql[@]}".
	# shellcheck disable=SC2034
	psql=( docker_process_sql )
	printf '\n'
	local f
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					printf '%s: running %s\n' "$0" "$f"
					"$f"
				else
					printf '%s: sourcing %s\n' "$0" "$f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)     printf '%s: running %s\n' "$0" "$f"; docker_process_sql -f "$f"; printf '\n' ;;
			*.sql.gz)  printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | docker_process_sql; printf '\n' ;;
			*.sql.xz)  printf '%s: running %s\n' "$0" "$f"; _need xz "$f"; xz -dc "$f" | docker_process_sql; printf '\n' ;;
			*.sql.zst) printf '%s: running %s\n' "$0" "$f"; _need zstd "$f"; zstd -dc "$f" | docker_process_sql; printf '\n' ;;
			*)         printf '%s: ignoring %s\n' "$0" "$f" ;;
		esac
		printf '\n'
	done
}

# This image installs neither xz-utils nor zstd (the official one does): say so instead of a
# "command not found" in the middle of a pipe.
_need() {
	if ! command -v "$1" > /dev/null; then
		printf >&2 '%s: error: %s needs %s, which this image does not install\n' "$0" "$2" "$1"
		exit 1
	fi
}

# True when the arguments ask postgres for something that exits at once (help, version, ...).
_pg_want_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--describe-config|-V|--version) return 0 ;;
		esac
	done
	return 1
}

_main() {
	# `docker run image -c foo=bar` means the server with those options.
	if [ "${1:0:1}" = - ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = postgres ] && ! _pg_want_help "$@"; then
		docker_setup_env
		docker_create_db_directories
		if [ "$(id -u)" = 0 ]; then
			# Drop to postgres (uid 999, its own groups only, like gosu) and start over; the variables
			# read above, POSTGRES_PASSWORD included, go along in the environment.
			export HOME=/var/lib/postgresql
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			docker_verify_minimum_env
			# Fail now, before initdb, if the init directory cannot be listed.
			ls /docker-entrypoint-initdb.d/ > /dev/null

			docker_init_database_dir
			pg_setup_hba_conf "$@"

			# Needed when POSTGRES_INITDB_ARGS asks for passwords on local connections too.
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			docker_temp_server_start "$@"
			docker_setup_db
			docker_process_init_files /docker-entrypoint-initdb.d/*
			docker_temp_server_stop
			unset PGPASSWORD

			cat <<-'EOM'

				PostgreSQL init process complete; ready for start up.

			EOM
		else
			cat <<-'EOM'

				PostgreSQL Database directory appears to contain a database; Skipping initialization

			EOM
		fi
		# The server has no use for the password; keep it out of its /proc/<pid>/environ.
		unset POSTGRES_PASSWORD
	fi

	exec "$@"
}

if ! _is_sourced; then
	_main "$@"
fi
