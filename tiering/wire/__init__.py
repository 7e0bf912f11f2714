"""How things look on Kafka: the Avro codec (the contract's wire format), the topics, messages
as they come in, dead letters, and the JSON signals between the service's own parts."""
