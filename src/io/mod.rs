//! Reading checkpoints as byte-range streams and writing merged ones shard by shard.
