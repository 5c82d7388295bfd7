//! The release lock: a coordination.k8s.io/v1 Lease per release, held and renewed while a run lives.
