-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "pendingRequirement" TEXT;

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "stepUpWindowSeconds" INTEGER NOT NULL DEFAULT 900;
