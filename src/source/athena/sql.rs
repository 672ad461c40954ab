//! The command's selection compiled into one SQL statement for Athena engine version 3
//! (Trino dialect).
