"""The bank's records the notifier relies on, kept by its administrators: the managers'
directory (who looks after which customer), the managers' inbox sign-in tokens, and the
customers' risk tolerance (§9)."""
