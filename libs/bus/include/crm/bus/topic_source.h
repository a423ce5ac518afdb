// Projections fed from another service's events (DESIGN.md §7): an
// EventSource (crm/projection/event_feed.h) over the topic
// crm.<service>.events.v1, for a ProjectionEngine's Options::source.
//
//   ProjectionEngine::Options options;
//   options.source = bus->ProjectionSource("sales");   // see bus.h
//   ASSIGN_OR_RETURN(auto engine, ProjectionEngine::Start(
//                                     *store, std::move(projections),
//                                     options));
//
// A new projection version (or a new replica with an empty disk) reads the
// topic from the beginning, so it can be rebuilt blue/green from Kafka like
// one of the service's own log.
//
// What a projection sees: every event of the topic once, each stream's
// events in stream order; events of different streams in an order that
// depends on partitioning and timing. A projection fed from a topic must
// therefore fold each stream on its own (which is what keyed read models
// do) for a rebuild to equal the live state. Copies the relay published
// again are skipped as the consumer skips them (consumer.h, "Duplicates").
//
// The checkpoint (docs/storage-format.md, "Topic checkpoints") holds, per
// partition, the next offset and the highest global position applied.
// WARNING: the topic must keep every event since the beginning (retention
// -1, or compaction off) for a rebuild from it to be complete; with a
// shorter retention, rebuild from the publisher's own store instead.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "crm/projection/event_feed.h"

namespace crm::bus {

// The events of `service` (topic crm.<service>.events.v1) on the Kafka
// cluster `kafka_config` names (librdkafka properties; bootstrap.servers
// required). Opening a feed asks the cluster for the topic's partitions:
// UNAVAILABLE while it cannot (the engine retries), NOT_FOUND when the
// topic does not exist.
std::unique_ptr<projection::EventSource> NewKafkaTopicSource(
    std::map<std::string, std::string> kafka_config, std::string service);

}  // namespace crm::bus
