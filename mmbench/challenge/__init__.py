"""The challenge's own routes: Task 1 (the fixed baseline DIN on a new item embedding) and the
submission zip scored on the test split."""
