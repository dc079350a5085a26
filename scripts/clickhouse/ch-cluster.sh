#!/usr/bin/env bash
# A private ClickHouse cluster for tests: ZooKeeper (Debian's zookeeper
# package) and four clickhouse-server processes (Debian's 18.16), two shards
# of two replicas, cluster name "cardledger", everything under DIR and on
# free ports of 127.0.0.1. Runs as any user.
#
#   ch-cluster.sh start DIR        start what is not running; print the node URLs
#                                  (s1r1,s1r2,s2r1,s2r2) comma-separated
#   ch-cluster.sh stop DIR         stop the four servers and ZooKeeper
#   ch-cluster.sh stop-node DIR N  stop node N (1..4) and wait until it is gone
#   ch-cluster.sh start-node DIR N start node N again on its ports
#
# Memory: each server gets small caches (mark and uncompressed cache 32 MB;
# 18.16 has no max_server_memory_usage, so the default profile caps all
# queries of a server at 1 GB together) and few background threads;
# ZooKeeper's heap is 96 MB.
#
# The ports are chosen once, when DIR is empty, and kept: replicas find each
# other through the host:port they registered in ZooKeeper. Should one be
# taken by something else later, the start fails naming the node; remove DIR
# (after `stop`) to begin afresh.
set -euo pipefail
cmd=$1; dir=$2
CLUSTER=cardledger
ZK_CP=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar

# free_ports N prints N distinct free ports (one python start: under load
# each start costs seconds).
free_ports() {
  python3 -c 'import socket,sys
socks=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_of() { cat "$dir/node$1/$2"; }

zk_ok() {
  # A ZooKeeper still starting may accept and never answer: bound the probe.
  local r; r=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && echo ruok >&3 && cat <&3' _ "$(cat "$dir/zk/port")" 2>/dev/null) || true
  [[ $r == imok ]]
}

write_configs() {
  mkdir -p "$dir/zk/data"
  local ports; read -ra ports <<<"$(free_ports 13)"
  echo "${ports[12]}" > "$dir/zk/port"
  cat > "$dir/zk/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/zk/data
clientPort=$(cat "$dir/zk/port")
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
forceSync=no
preAllocSize=1024
CFG
  local n
  for n in 1 2 3 4; do
    mkdir -p "$dir/node$n/data/tmp" "$dir/node$n/data/user_files" "$dir/node$n/log"
    echo "${ports[(n - 1) * 3]}" > "$dir/node$n/tcp"
    echo "${ports[(n - 1) * 3 + 1]}" > "$dir/node$n/http"
    echo "${ports[(n - 1) * 3 + 2]}" > "$dir/node$n/interserver"
  done
  local servers="" s r
  for s in 1 2; do
    servers+="<shard><internal_replication>true</internal_replication>"
    for r in 1 2; do
      servers+="<replica><host>127.0.0.1</host><port>$(port_of $(((s - 1) * 2 + r)) tcp)</port></replica>"
    done
    servers+="</shard>"
  done
  for n in 1 2 3 4; do
    cat > "$dir/node$n/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/node$n/log/server.log</log><errorlog>$dir/node$n/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$(port_of $n tcp)</tcp_port>
  <http_port>$(port_of $n http)</http_port>
  <interserver_http_port>$(port_of $n interserver)</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$dir/node$n/data/</path>
  <tmp_path>$dir/node$n/data/tmp/</tmp_path>
  <user_files_path>$dir/node$n/data/user_files/</user_files_path>
  <mark_cache_size>33554432</mark_cache_size>
  <uncompressed_cache_size>33554432</uncompressed_cache_size>
  <timezone>UTC</timezone>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <remote_servers><$CLUSTER>$servers</$CLUSTER></remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>$(cat "$dir/zk/port")</port></node><session_timeout_ms>6000</session_timeout_ms></zookeeper>
  <macros><shard>$(((n + 1) / 2))</shard><replica>n$n</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
XML
  done
  cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default>
    <max_memory_usage>1000000000</max_memory_usage>
    <max_memory_usage_for_all_queries>1000000000</max_memory_usage_for_all_queries>
    <background_pool_size>4</background_pool_size>
    <background_schedule_pool_size>4</background_schedule_pool_size>
    <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
  </default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
}

start_zk() {
  alive "$dir/zk/pid" && zk_ok && return 0
  java -Xmx96m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$ZK_CP" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zk/zoo.cfg" \
    >"$dir/zk/out.log" 2>&1 &
  echo $! > "$dir/zk/pid"
}

wait_zk() {
  local i=0
  until zk_ok; do
    i=$((i + 1)); ((i > 400)) && { echo "zookeeper did not start" >&2; cat "$dir/zk/out.log" >&2; exit 1; }
    sleep 0.05
  done
}

start_node() {
  local n=$1
  alive "$dir/node$n/pid" && return 0
  /usr/sbin/clickhouse-server --config-file="$dir/node$n/config.xml" >"$dir/node$n/log/stdout.log" 2>&1 &
  echo $! > "$dir/node$n/pid"
}

wait_node() {
  local n=$1 i=0
  until curl -sf "http://127.0.0.1:$(port_of "$n" http)/ping" >/dev/null 2>&1; do
    i=$((i + 1)); ((i > 600)) && { echo "clickhouse node $n did not start" >&2; cat "$dir/node$n/log/"*.log >&2; exit 1; }
    sleep 0.05
  done
  # Over HTTP with curl: a clickhouse-client start costs a second on a busy machine.
  until curl -sf "http://127.0.0.1:$(port_of "$n" http)/" --data-binary "SELECT count() FROM system.zookeeper WHERE path = '/'" >/dev/null 2>&1; do
    i=$((i + 1)); ((i > 600)) && { echo "clickhouse node $n does not reach ZooKeeper" >&2; cat "$dir/node$n/log/"*.log >&2; exit 1; }
    sleep 0.05
  done
}

stop_node() {
  local n=$1 pid
  alive "$dir/node$n/pid" || return 0
  pid=$(cat "$dir/node$n/pid")
  kill "$pid"
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$dir/node$n/pid"
}

urls() {
  local out="" n
  for n in 1 2 3 4; do out+="${out:+,}clickhouse://127.0.0.1:$(port_of $n tcp)/default"; done
  echo "$out"
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [[ -f "$dir/users.xml" ]] || write_configs
    # ZooKeeper first: a server that finds it down at start reconnects
    # only after seconds (measured: 21 s to a usable cluster, against 6 s).
    t0=$SECONDS
    start_zk
    wait_zk
    t1=$SECONDS
    for n in 1 2 3 4; do start_node $n; done
    for n in 1 2 3 4; do wait_node $n; done
    echo "[ch-cluster] ZooKeeper answered after $((t1 - t0)) s, the four servers $((SECONDS - t1)) s later" >&2
    urls ;;
  stop)
    for n in 1 2 3 4; do stop_node $n; done
    if alive "$dir/zk/pid"; then kill "$(cat "$dir/zk/pid")"; fi
    rm -f "$dir/zk/pid" ;;
  stop-node) stop_node "$3" ;;
  start-node) start_node "$3"; wait_node "$3" ;;
  *) echo "usage: $0 start|stop DIR | stop-node|start-node DIR N" >&2; exit 2 ;;
esac
