-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "roles" TEXT NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "riskWeights" TEXT;

-- CreateTable
CREATE TABLE "RiskAttempt" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT,
    "action" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "outcome" TEXT NOT NULL,
    "ip" TEXT,
    "country" TEXT,
    "city" TEXT,
    "lat" DOUBLE PRECISION,
    "lon" DOUBLE PRECISION,
    "accuracyKm" INTEGER,
    "asn" INTEGER,
    "deviceId" TEXT,
    "score" INTEGER NOT NULL DEFAULT 0,
    "decision" TEXT NOT NULL DEFAULT '',
    "reasons" TEXT NOT NULL DEFAULT '[]',
    "assessment" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "RiskAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RiskDevice" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "thumbmark" TEXT NOT NULL,
    "components" TEXT NOT NULL DEFAULT '{}',
    "label" TEXT,
    "state" TEXT NOT NULL DEFAULT 'trusted',
    "attested" BOOLEAN NOT NULL DEFAULT false,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RiskDevice_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TypingProfile" (
    "accountId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "samples" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TypingProfile_pkey" PRIMARY KEY ("accountId")
);

-- CreateTable
CREATE TABLE "TenantPolicy" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'draft',
    "hash" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activatedAt" TIMESTAMP(3),

    CONSTRAINT "TenantPolicy_pkey" PRIMARY KEY ("id")
);

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
