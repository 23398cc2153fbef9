#!/usr/bin/env bash
# Records the fuzz seeds of ActiveMQ's Jolokia answers from the real brokers: a poll's bulk
# answer (Artemis: with its queue listing and topology), a browse and a search, from Classic and Artemis as scripts/peers.sh starts them
# (run it with their environment, e.g. `scripts/peers.sh run bash fuzz/capture/activemq.sh`).
# The requests are the ones brokers/activemq asks.
set -euo pipefail
seeds=$(cd "$(dirname "$0")/.." && pwd)/seeds/jolokia_json
mkdir -p "$seeds"
login=(-u "$OSPREY_TEST_ACTIVEMQ_USER:$OSPREY_TEST_ACTIVEMQ_PASSWORD")
post() { # post URL JSON
  local origin; origin=$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$1")
  curl -sf "${login[@]}" -H "Origin: $origin" -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary "$2" "$1"
}
"$OSPREY_TEST_PYTHON" "$OSPREY_TEST_STOMP_CLIENT" send --server "$OSPREY_TEST_ACTIVEMQ_STOMP" --queue seeds --count 2
"$OSPREY_TEST_PYTHON" "$OSPREY_TEST_STOMP_CLIENT" send --server "$OSPREY_TEST_ARTEMIS_STOMP" --queue seeds --count 2 --flavor artemis
classic='org.apache.activemq:type=Broker,brokerName=*'
post "$OSPREY_TEST_ACTIVEMQ_JOLOKIA" "[
 {\"type\":\"read\",\"mbean\":\"$classic\",\"config\":{\"ignoreErrors\":true}},
 {\"type\":\"read\",\"mbean\":\"$classic,destinationType=*,destinationName=*\",\"attribute\":[\"Name\",\"QueueSize\",\"InFlightCount\",\"ConsumerCount\",\"EnqueueCount\",\"DequeueCount\"],\"config\":{\"ignoreErrors\":true}},
 {\"type\":\"read\",\"mbean\":\"java.lang:type=Runtime\",\"attribute\":[\"VmVersion\"]}]" >"$seeds/activemq-classic-poll.json"
post "$OSPREY_TEST_ACTIVEMQ_JOLOKIA" "[{\"type\":\"exec\",\"mbean\":\"$classic,destinationType=Queue,destinationName=seeds\",\"operation\":\"browse()\",\"arguments\":[]}]" \
  >"$seeds/activemq-classic-browse.json"
artemis='org.apache.activemq.artemis:broker=*'
broker=$(post "$OSPREY_TEST_ARTEMIS_JOLOKIA" "[{\"type\":\"search\",\"mbean\":\"$artemis\"}]" \
  | "$OSPREY_TEST_PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]["value"][0]))')
options='{\"field\":\"\",\"operation\":\"\",\"value\":\"\",\"sortOrder\":\"asc\",\"sortColumn\":\"name\"}'
post "$OSPREY_TEST_ARTEMIS_JOLOKIA" "[
 {\"type\":\"read\",\"mbean\":$broker,\"attribute\":[\"Name\",\"Version\",\"UptimeMillis\",\"ConnectionCount\",\"AddressMemoryUsagePercentage\",\"DiskStoreUsage\",\"MaxDiskUsage\"],\"config\":{\"ignoreErrors\":true}},
 {\"type\":\"read\",\"mbean\":\"java.lang:type=Runtime\",\"attribute\":[\"VmVersion\"]},
 {\"type\":\"exec\",\"mbean\":$broker,\"operation\":\"listQueues(java.lang.String,int,int)\",\"arguments\":[\"$options\",1,1000]},
 {\"type\":\"exec\",\"mbean\":$broker,\"operation\":\"listNetworkTopology()\",\"arguments\":[]}]" >"$seeds/activemq-artemis-poll.json"
post "$OSPREY_TEST_ARTEMIS_JOLOKIA" "[{\"type\":\"search\",\"mbean\":\"$artemis\"},{\"type\":\"search\",\"mbean\":\"$classic\"}]" \
  >"$seeds/activemq-artemis-search.json"
ls -l "$seeds"/activemq-*
