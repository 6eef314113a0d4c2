//! Operations: operator views, the integrity check and the access-control roles. SQL lives in
//! `sql/`, registered here. The roles file runs last so that it grants on every function the
//! other files defined.

use pgrx::prelude::*;

extension_sql_file!(
    "../sql/view_operator_stats.sql",
    name = "view_operator_stats",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_check_integrity.sql",
    name = "fn_check_integrity",
    requires = ["table_events"]
);
extension_sql_file!("../sql/roles.sql", name = "roles", finalize);
