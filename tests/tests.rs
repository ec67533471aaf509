//! Integration tests of the `mavuno` binary (one test binary; modules per topic).

mod smoke;
