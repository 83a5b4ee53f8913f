-- What a badge class aligns to (competency frameworks, standards): a JSON
-- array of {targetName, targetUrl, targetDescription?, targetFramework?,
-- targetCode?}, published as OB 2.0 AlignmentObjects and OB 3.0 Alignments.
ALTER TABLE badge_classes ADD COLUMN alignments JSONB NOT NULL DEFAULT '[]';
