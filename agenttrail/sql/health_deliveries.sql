-- Alert webhook deliveries by endpoint and status (pending, delivered, failed), since the store was made.
SELECT endpoint, status, count(*) FROM webhook_deliveries GROUP BY endpoint, status ORDER BY endpoint, status
