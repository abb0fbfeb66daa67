-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN "riskWeights" TEXT;

-- CreateTable
CREATE TABLE "RiskAttempt" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT,
    "action" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "outcome" TEXT NOT NULL,
    "ip" TEXT,
    "country" TEXT,
    "city" TEXT,
    "lat" REAL,
    "lon" REAL,
    "accuracyKm" INTEGER,
    "asn" INTEGER,
    "deviceId" TEXT,
    "score" INTEGER NOT NULL DEFAULT 0,
    "decision" TEXT NOT NULL DEFAULT '',
    "reasons" TEXT NOT NULL DEFAULT '[]',
    "assessment" TEXT NOT NULL DEFAULT '{}'
);

-- CreateTable
CREATE TABLE "RiskDevice" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "thumbmark" TEXT NOT NULL,
    "components" TEXT NOT NULL DEFAULT '{}',
    "label" TEXT,
    "state" TEXT NOT NULL DEFAULT 'trusted',
    "attested" BOOLEAN NOT NULL DEFAULT false,
    "firstSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "TypingProfile" (
    "accountId" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "samples" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "TenantPolicy" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'draft',
    "hash" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activatedAt" DATETIME
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Account" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "did" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "custody" TEXT NOT NULL DEFAULT 'managed',
    "status" TEXT NOT NULL DEFAULT 'active',
    "username" TEXT,
    "displayName" TEXT,
    "userHandle" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "roles" TEXT NOT NULL DEFAULT '[]',
    CONSTRAINT "Account_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Account" ("address", "createdAt", "custody", "did", "displayName", "id", "status", "tenantId", "updatedAt", "userHandle", "username") SELECT "address", "createdAt", "custody", "did", "displayName", "id", "status", "tenantId", "updatedAt", "userHandle", "username" FROM "Account";
DROP TABLE "Account";
ALTER TABLE "new_Account" RENAME TO "Account";
CREATE INDEX "Account_tenantId_idx" ON "Account"("tenantId");
CREATE UNIQUE INDEX "Account_tenantId_did_key" ON "Account"("tenantId", "did");
CREATE UNIQUE INDEX "Account_tenantId_username_key" ON "Account"("tenantId", "username");
CREATE UNIQUE INDEX "Account_tenantId_userHandle_key" ON "Account"("tenantId", "userHandle");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "RiskAttempt_accountId_at_idx" ON "RiskAttempt"("accountId", "at");

-- CreateIndex
CREATE INDEX "RiskAttempt_tenantId_at_idx" ON "RiskAttempt"("tenantId", "at");

-- CreateIndex
CREATE INDEX "RiskDevice_accountId_idx" ON "RiskDevice"("accountId");

-- CreateIndex
CREATE INDEX "TenantPolicy_tenantId_status_idx" ON "TenantPolicy"("tenantId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "TenantPolicy_tenantId_version_key" ON "TenantPolicy"("tenantId", "version");
