enum _PlaceholderErgonDocker {}
