# Synchronization Rules Editor export (test data written for idsync, in the
# form the editor's Export button produces).

New-ADSyncRule  `
-Name 'In from AD - Computer Join' `
-Identifier 'd79c6b03-a3d5-4160-8b12-87eff97ab7be' `
-Description '' `
-Direction 'Inbound' `
-Precedence 159 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'computer' `
-TargetObjectType 'device' `
-Connector 'ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d' `
-LinkType 'Provision' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag 'Microsoft.InfromADComputerJoin.002' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('userAccountControl') `
-Destination 'accountEnabled' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(BitAnd([userAccountControl],2)=0,True,False)' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('objectGUID') `
-Destination 'deviceId' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('objectGUID') `
-Destination 'sourceAnchor' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'ConvertToBase64([objectGUID])' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('displayName','cn') `
-Destination 'displayName' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsNullOrEmpty([displayName]),[cn],[displayName])' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('objectSid') `
-Destination 'objectSid' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('Computer') `
-Destination 'sourceObjectType' `
-FlowType 'Constant' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('operatingSystemVersion') `
-Destination 'deviceOSVersion' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('operatingSystem') `
-Destination 'deviceOSType' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('ServerAd') `
-Destination 'deviceTrustType' `
-FlowType 'Constant' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('False') `
-Destination 'cloudCreated' `
-FlowType 'Constant' `
-ValueMergeType 'Update' `
-ExecuteOnce `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('userCertificate') `
-Destination 'userCertificate' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('mS-DS-CreatorSID') `
-Destination 'registeredOwnerReference' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-ExecuteOnce `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('userCertificate') `
-Destination 'cloudFiltered' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsNullOrEmpty([userCertificate]),True,NULL)' `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'objectGUID','deviceId',$false `
-OutVariable condition0

Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0]) `
-OutVariable syncRule

Add-ADSyncRule  `
-SynchronizationRule $syncRule[0]

Get-ADSyncRule  `
-Identifier 'd79c6b03-a3d5-4160-8b12-87eff97ab7be'

