-- How many hits this batch's detectors found (anomaly_hits).
SELECT count(*) FROM anomaly_hits
