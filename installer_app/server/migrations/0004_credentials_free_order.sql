-- C1 and C5 take the first free SN in (imported_at, device_sn) order. The first index had
-- imported_at only, and an import is one transaction, so all its SNs share one imported_at: every
-- reservation then read and sorted all the free SNs of the model (5 ms of database time a
-- request with 12,500 free SNs, growing with the pool). With device_sn in the index, the ORDER BY
-- ... LIMIT 1 FOR UPDATE SKIP LOCKED walks the index and stops at the first free, unlocked row.
DROP INDEX credentials_free;
CREATE INDEX credentials_free ON credentials (model_id, imported_at, device_sn) WHERE hw_id IS NULL;
