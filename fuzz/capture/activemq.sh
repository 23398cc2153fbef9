#!/usr/bin/env bash
# Records the fuzz seeds of ActiveMQ's Jolokia answers from the real brokers: a poll's bulk
# answer, a browse and the topology, from Classic and Artemis as scripts/peers.sh starts them
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
post "$OSPREY_TEST_ARTEMIS_JOLOKIA" "[
 {\"type\":\"read\",\"mbean\":\"$artemis\",\"attribute\":[\"Name\",\"Version\",\"UptimeMillis\",\"ConnectionCount\",\"AddressMemoryUsagePercentage\",\"DiskStoreUsage\",\"MaxDiskUsage\"],\"config\":{\"ignoreErrors\":true}},
 {\"type\":\"read\",\"mbean\":\"$artemis,component=addresses,address=*,subcomponent=queues,routing-type=*,queue=*\",\"attribute\":[\"Name\",\"RoutingType\",\"MessageCount\",\"DeliveringCount\",\"ScheduledCount\",\"ConsumerCount\",\"MessagesAdded\",\"MessagesAcknowledged\",\"Temporary\"],\"config\":{\"ignoreErrors\":true}},
 {\"type\":\"read\",\"mbean\":\"java.lang:type=Runtime\",\"attribute\":[\"VmVersion\"]}]" >"$seeds/activemq-artemis-poll.json"
post "$OSPREY_TEST_ARTEMIS_JOLOKIA" "[{\"type\":\"search\",\"mbean\":\"$artemis\"},{\"type\":\"search\",\"mbean\":\"$classic\"}]" \
  >"$seeds/activemq-artemis-search.json"
ls -l "$seeds"/activemq-*
