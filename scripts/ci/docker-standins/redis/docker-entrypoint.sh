#!/bin/sh
# The official redis image's entrypoint, with setpriv for gosu. The official image also builds Redis with
# protected mode off; Debian's keeps it on, and then clients on the compose network get "Stream isn't writeable",
# so it is turned off here on the command line.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$1" = 'redis-server' ]; then
  shift
  if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    config="$1"
    shift
    set -- redis-server "$config" --protected-mode no "$@"
  else
    set -- redis-server --protected-mode no "$@"
  fi
fi
um="$(umask)"
if [ "$um" = '0022' ]; then umask 0077; fi
exec "$@"
