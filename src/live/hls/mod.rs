pub(crate) mod ts;
