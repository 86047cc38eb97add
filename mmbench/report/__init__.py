"""Reports on saved predictions: cold/warm subsets, mechanism classes, DeLong statistics, the html page."""
