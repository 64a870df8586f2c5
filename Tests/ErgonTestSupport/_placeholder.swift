enum _PlaceholderErgonTestSupport {}
