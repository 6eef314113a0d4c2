//! The rest of angzarr's storage contract: positions, snapshots, editions, correlation,
//! discovery and the protobuf EventBook functions. SQL lives in `sql/`, registered here.
