-- Which of the references $refs are unsealed already.
SELECT ref FROM sealed_values WHERE ref IN (SELECT unnest($refs::VARCHAR[]))
