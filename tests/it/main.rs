//! The webhook function's integration tests, one binary: the real AWS SDK clients against
//! moto over HTTP, the built binaries under the Lambda Runtime Interface Emulator, and the
//! samples under `events/`. `common` is the shared harness (moto, the local stack, the
//! emulator, the fault proxy).

mod cli;
mod common;
mod consumer;
mod emulator;
mod events;
mod faults;
mod hostile;
mod load;
mod local_stack;
mod secrets_manager;
mod senders;
mod spool;
