// SwitchboardRedis: a small Redis client over SwiftNIO for Switchboard's Redis engine.
//
// It exists because no Swift Redis client (RediStack, valkey-swift) is among the packages this
// project can build with; it is kept to what the engine needs. SwitchboardRedis.docc says what it
// supports. Start with RedisClient (commands, scripts) and RedisSubscriber (pub/sub).
