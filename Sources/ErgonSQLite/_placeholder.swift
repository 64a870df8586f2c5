enum _PlaceholderErgonSQLite {}
