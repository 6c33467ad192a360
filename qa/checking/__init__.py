"""The claim check: an answer parsed into sentences and markers, each sentence held against its quotes by the rules, the judge's second reading, and the check as a service (/check)."""
