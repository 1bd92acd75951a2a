//! quire-core: the Quire protocol as a deterministic, sans-IO library.
