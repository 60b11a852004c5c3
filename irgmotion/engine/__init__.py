"""The data engine: candidate mining, exact and rule-based annotators, stage-1/2 builders."""
