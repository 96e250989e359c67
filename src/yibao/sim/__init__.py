"""The policy lab (政策实验室, issue 7): the national insured population, calibrated to published
statistics, run through the same rules the bureau runs. First part: the population and its counts."""
