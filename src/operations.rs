//! Operations: privileges, operator views and the integrity check. SQL lives in `sql/`,
//! registered here.
