#!/usr/bin/env bash
# Fetch, format, start, stop a single-node Apache Kafka (KRaft) broker.
#   deploy/kafka/broker.sh start|stop|status|fetch
# Everything lives under var/kafka/ of the project root (override: LEADSCORE_VAR).
# If LEADSCORE_KAFKA_BOOTSTRAP names a broker, that broker is used and nothing starts.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
var="${LEADSCORE_VAR:-$root/var}"
kdir="$var/kafka"
libs="$kdir/libs"
data="$kdir/data"
pidfile="$kdir/broker.pid"
logfile="$kdir/broker.log"
host=127.0.0.1
port="${LEADSCORE_KAFKA_PORT:-9092}"
# A bounded heap: the broker shares a 2-core, small machine with the pipeline.
heap="${LEADSCORE_KAFKA_HEAP:-1g}"

external() { [ -n "${LEADSCORE_KAFKA_BOOTSTRAP:-}" ]; }

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { echo "broker.sh: Maven (mvn) is required to fetch Kafka" >&2; exit 1; }
  command -v java >/dev/null || { echo "broker.sh: a JDK 17+ (java) is required" >&2; exit 1; }
  echo "broker.sh: fetching Kafka jars from Maven Central into $libs" >&2
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

config() {
  mkdir -p "$kdir"
  sed -e "s#^log.dirs=.*#log.dirs=$data#" \
      -e "s#127.0.0.1:9092#127.0.0.1:$port#g" \
      -e "s#127.0.0.1:9093#127.0.0.1:$((port + 1))#g" \
      "$here/server.properties" > "$kdir/server.properties"
  cat > "$kdir/log4j2.properties" <<L4J
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=WARN
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
L4J
}

java_args=(java "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true "-Dlog4j2.configurationFile=$kdir/log4j2.properties"
  -cp "$libs/*")
java_run() { "${java_args[@]}" "$@"; }

format() {
  if [ -f "$data/meta.properties" ]; then return 0; fi
  mkdir -p "$data"
  local id
  id="$(java_run kafka.tools.StorageTool random-uuid | tail -n1)"
  java_run kafka.tools.StorageTool format --standalone -t "$id" \
    -c "$kdir/server.properties" --ignore-formatted >/dev/null
}

start() {
  if external; then
    echo "broker.sh: using external broker $LEADSCORE_KAFKA_BOOTSTRAP; not starting one" >&2
    return 0
  fi
  if running; then echo "broker.sh: already running (pid $(cat "$pidfile"))" >&2; return 0; fi
  if port_open; then
    echo "broker.sh: something else already listens on $host:$port" >&2; exit 1
  fi
  fetch; config; format
  # setsid: the broker must not receive the terminal's Ctrl-C before the
  # pipeline has drained into it; `stop` ends it deliberately afterwards.
  setsid "${java_args[@]}" kafka.Kafka "$kdir/server.properties" >"$logfile" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local waited=0
  until port_open; do
    if ! running; then echo "broker.sh: broker died; see $logfile" >&2; tail -20 "$logfile" >&2; exit 1; fi
    if [ "$waited" -ge 120 ]; then echo "broker.sh: broker not up after 60 s" >&2; stop; exit 1; fi
    sleep 0.5; waited=$((waited + 1))
  done
  echo "broker.sh: Kafka listening on $host:$port (pid $(cat "$pidfile"))" >&2
}

stop() {
  external && return 0
  if ! running; then rm -f "$pidfile"; return 0; fi
  local pid; pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then echo "broker.sh: broker did not stop in 30 s; killing" >&2; kill -KILL "$pid"; fi
  rm -f "$pidfile"
  echo "broker.sh: Kafka stopped" >&2
}

status() {
  if external; then echo "external $LEADSCORE_KAFKA_BOOTSTRAP"; return 0; fi
  if running; then echo "running pid $(cat "$pidfile") on $host:$port"; else echo "stopped"; return 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  fetch) fetch ;;
  *) echo "usage: $0 start|stop|status|fetch" >&2; exit 2 ;;
esac
