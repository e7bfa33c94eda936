"""One module per dataset layout."""
