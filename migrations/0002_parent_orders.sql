CREATE TABLE `parent_orders` (
	`id` text PRIMARY KEY NOT NULL,
	`symbol` text NOT NULL,
	`side` text NOT NULL,
	`algo` text NOT NULL,
	`total_qty` real NOT NULL,
	`slices` integer NOT NULL,
	`interval_ms` integer NOT NULL,
	`visible_qty` real,
	`limit_offset_bps` real DEFAULT 0 NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`next_at` integer NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `parent_orders_status` ON `parent_orders` (`status`);