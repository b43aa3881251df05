"""`make bench`: the grader's figures, each measured in the same run as its baseline."""
