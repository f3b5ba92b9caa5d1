CREATE TABLE `alert_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`alert_id` integer NOT NULL,
	`channel` text NOT NULL,
	`status` text NOT NULL,
	`ts` integer NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `alert_deliveries_alert` ON `alert_deliveries` (`alert_id`);