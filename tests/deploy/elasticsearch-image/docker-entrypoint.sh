#!/bin/bash
# The official image's configuration rules, for the stand-in: every environment variable named like
# a setting (lower case, at least one dot) and every ES_SETTING_FOO_BAR (foo.bar; a doubled
# underscore is a literal one) becomes -E<name>=<value>. Empty values are skipped, and so is a
# setting the command line already gives, because Elasticsearch exits 64 on a duplicate.
set -euo pipefail

if [ "$#" -gt 0 ] && [ "$1" != "eswrapper" ] && [ "${1:0:1}" != "-" ]; then
  exec "$@"
fi
[ "${1:-}" = "eswrapper" ] && shift

given=" $* "
flags=()
# Bash cannot name a variable with a dot in it, but passes it on to children: env -0 lists it.
while IFS= read -r -d '' entry; do
  name=${entry%%=*}
  value=${entry#*=}
  setting=
  if [[ $name =~ ^[a-z0-9_]+(\.[a-z0-9_]+)+$ ]]; then
    setting=$name
  elif [[ $name =~ ^ES_SETTING_([A-Z0-9_]+)$ ]]; then
    setting=${BASH_REMATCH[1],,}
    setting=${setting//__/$'\x01'}
    setting=${setting//_/.}
    setting=${setting//$'\x01'/_}
  fi
  [ -n "$setting" ] && [ -n "$value" ] || continue
  case $given in *" -E$setting="*) continue ;; esac
  flags+=("-E$setting=$value")
done < <(env -0)

exec /usr/share/elasticsearch/bin/elasticsearch "${flags[@]}" "$@"
