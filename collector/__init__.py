"""The collector: validate, enrich and produce events to Kafka. It never scores."""
