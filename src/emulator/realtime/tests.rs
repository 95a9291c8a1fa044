//! Real-Time's rules on a region's state, without HTTP.
