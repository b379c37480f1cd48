// PS3.15 Annex E, Basic Application Level Confidentiality Profile (Table E.1-1, column
// "Basic Prof."). The table below is the profile's attribute list with its action codes as
// written in the standard; resolve() turns a code into what we do, so the table can be
// compared line by line with the standard.
#include "anonymize.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvr.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string_view>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>
#include <wfctl/util/interrupt.hpp>

#include "dcmtk_support.hpp"
#include "prescan.hpp"

namespace wfctl::dicom::detail {

namespace {

struct Rule {
  std::uint16_t group;
  std::uint16_t element;
  std::string_view action;  // the profile's code: D, Z, X, U, X/Z, X/D, Z/D, X/Z/D, X/Z/U*
  std::string_view keyword;
};

// clang-format off
constexpr Rule k_profile[] = {
  {0x0008, 0x0012, "X/D", "InstanceCreationDate"},
  {0x0008, 0x0013, "X/D", "InstanceCreationTime"},
  {0x0008, 0x0015, "X", "InstanceCoercionDateTime"},
  {0x0008, 0x0020, "Z", "StudyDate"},
  {0x0008, 0x0021, "X/D", "SeriesDate"},
  {0x0008, 0x0022, "X/Z", "AcquisitionDate"},
  {0x0008, 0x0023, "Z/D", "ContentDate"},
  {0x0008, 0x0024, "X", "OverlayDate"},
  {0x0008, 0x0025, "X", "CurveDate"},
  {0x0008, 0x002A, "X/D", "AcquisitionDateTime"},
  {0x0008, 0x0030, "Z", "StudyTime"},
  {0x0008, 0x0031, "X/D", "SeriesTime"},
  {0x0008, 0x0032, "X/Z", "AcquisitionTime"},
  {0x0008, 0x0033, "Z/D", "ContentTime"},
  {0x0008, 0x0034, "X", "OverlayTime"},
  {0x0008, 0x0035, "X", "CurveTime"},
  {0x0008, 0x0050, "Z", "AccessionNumber"},
  {0x0008, 0x0080, "X/Z/D", "InstitutionName"},
  {0x0008, 0x0081, "X", "InstitutionAddress"},
  {0x0008, 0x0082, "X/Z/D", "InstitutionCodeSequence"},
  {0x0008, 0x0090, "Z", "ReferringPhysicianName"},
  {0x0008, 0x0092, "X", "ReferringPhysicianAddress"},
  {0x0008, 0x0094, "X", "ReferringPhysicianTelephoneNumbers"},
  {0x0008, 0x0096, "X", "ReferringPhysicianIdentificationSequence"},
  {0x0008, 0x0201, "X", "TimezoneOffsetFromUTC"},
  {0x0008, 0x1010, "X/Z/D", "StationName"},
  {0x0008, 0x1030, "X", "StudyDescription"},
  {0x0008, 0x103E, "X", "SeriesDescription"},
  {0x0008, 0x1040, "X", "InstitutionalDepartmentName"},
  {0x0008, 0x1041, "X", "InstitutionalDepartmentTypeCodeSequence"},
  {0x0008, 0x1048, "X", "PhysiciansOfRecord"},
  {0x0008, 0x1049, "X", "PhysiciansOfRecordIdentificationSequence"},
  {0x0008, 0x1050, "X", "PerformingPhysicianName"},
  {0x0008, 0x1052, "X", "PerformingPhysicianIdentificationSequence"},
  {0x0008, 0x1060, "X", "NameOfPhysiciansReadingStudy"},
  {0x0008, 0x1062, "X", "PhysiciansReadingStudyIdentificationSequence"},
  {0x0008, 0x1070, "X/Z/D", "OperatorsName"},
  {0x0008, 0x1072, "X/D", "OperatorIdentificationSequence"},
  {0x0008, 0x1080, "X", "AdmittingDiagnosesDescription"},
  {0x0008, 0x1084, "X", "AdmittingDiagnosesCodeSequence"},
  {0x0008, 0x1110, "X/Z", "ReferencedStudySequence"},
  {0x0008, 0x1111, "X/Z/D", "ReferencedPerformedProcedureStepSequence"},
  {0x0008, 0x1120, "X", "ReferencedPatientSequence"},
  {0x0008, 0x1140, "X/Z/U*", "ReferencedImageSequence"},
  {0x0008, 0x2111, "X", "DerivationDescription"},
  {0x0008, 0x2112, "X/Z/U*", "SourceImageSequence"},
  {0x0008, 0x4000, "X", "IdentifyingComments"},
  {0x0010, 0x0010, "Z", "PatientName"},
  {0x0010, 0x0020, "Z", "PatientID"},
  {0x0010, 0x0021, "X", "IssuerOfPatientID"},
  {0x0010, 0x0030, "Z", "PatientBirthDate"},
  {0x0010, 0x0032, "X", "PatientBirthTime"},
  {0x0010, 0x0033, "X", "PatientBirthDateInAlternativeCalendar"},
  {0x0010, 0x0034, "X", "PatientDeathDateInAlternativeCalendar"},
  {0x0010, 0x0035, "X", "PatientAlternativeCalendar"},
  {0x0010, 0x0040, "Z", "PatientSex"},
  {0x0010, 0x0050, "X", "PatientInsurancePlanCodeSequence"},
  {0x0010, 0x0101, "X", "PatientPrimaryLanguageCodeSequence"},
  {0x0010, 0x0102, "X", "PatientPrimaryLanguageModifierCodeSequence"},
  {0x0010, 0x1000, "X", "OtherPatientIDs"},
  {0x0010, 0x1001, "X", "OtherPatientNames"},
  {0x0010, 0x1002, "X", "OtherPatientIDsSequence"},
  {0x0010, 0x1005, "X", "PatientBirthName"},
  {0x0010, 0x1010, "X", "PatientAge"},
  {0x0010, 0x1020, "X", "PatientSize"},
  {0x0010, 0x1030, "X", "PatientWeight"},
  {0x0010, 0x1040, "X", "PatientAddress"},
  {0x0010, 0x1050, "X", "InsurancePlanIdentification"},
  {0x0010, 0x1060, "X", "PatientMotherBirthName"},
  {0x0010, 0x1080, "X", "MilitaryRank"},
  {0x0010, 0x1081, "X", "BranchOfService"},
  {0x0010, 0x1090, "X", "MedicalRecordLocator"},
  {0x0010, 0x1100, "X", "ReferencedPatientPhotoSequence"},
  {0x0010, 0x2000, "X", "MedicalAlerts"},
  {0x0010, 0x2110, "X", "Allergies"},
  {0x0010, 0x2150, "X", "CountryOfResidence"},
  {0x0010, 0x2152, "X", "RegionOfResidence"},
  {0x0010, 0x2154, "X", "PatientTelephoneNumbers"},
  {0x0010, 0x2155, "X", "PatientTelecomInformation"},
  {0x0010, 0x2160, "X", "EthnicGroup"},
  {0x0010, 0x2180, "X", "Occupation"},
  {0x0010, 0x21A0, "X", "SmokingStatus"},
  {0x0010, 0x21B0, "X", "AdditionalPatientHistory"},
  {0x0010, 0x21C0, "X", "PregnancyStatus"},
  {0x0010, 0x21D0, "X", "LastMenstrualDate"},
  {0x0010, 0x21F0, "X", "PatientReligiousPreference"},
  {0x0010, 0x2203, "X/Z", "PatientSexNeutered"},
  {0x0010, 0x2297, "X", "ResponsiblePerson"},
  {0x0010, 0x2299, "X", "ResponsibleOrganization"},
  {0x0010, 0x4000, "X", "PatientComments"},
  {0x0018, 0x0010, "Z/D", "ContrastBolusAgent"},
  {0x0018, 0x1000, "X/Z/D", "DeviceSerialNumber"},
  {0x0018, 0x1004, "X", "PlateID"},
  {0x0018, 0x1005, "X", "GeneratorID"},
  {0x0018, 0x1007, "X", "CassetteID"},
  {0x0018, 0x1008, "X", "GantryID"},
  {0x0018, 0x1030, "X/D", "ProtocolName"},
  {0x0018, 0x1400, "X/D", "AcquisitionDeviceProcessingDescription"},
  {0x0018, 0x4000, "X", "AcquisitionComments"},
  {0x0018, 0x700A, "X/D", "DetectorID"},
  {0x0018, 0x9424, "X", "AcquisitionProtocolDescription"},
  {0x0018, 0xA003, "X", "ContributionDescription"},
  {0x0020, 0x0010, "Z", "StudyID"},
  {0x0020, 0x3401, "X", "ModifyingDeviceID"},
  {0x0020, 0x3404, "X", "ModifyingDeviceManufacturer"},
  {0x0020, 0x3406, "X", "ModifiedImageDescription"},
  {0x0020, 0x4000, "X", "ImageComments"},
  {0x0020, 0x9158, "X", "FrameComments"},
  {0x0028, 0x4000, "X", "ImagePresentationComments"},
  {0x0032, 0x0012, "X", "StudyIDIssuer"},
  {0x0032, 0x1020, "X", "ScheduledStudyLocation"},
  {0x0032, 0x1021, "X", "ScheduledStudyLocationAETitle"},
  {0x0032, 0x1030, "X", "ReasonForStudy"},
  {0x0032, 0x1032, "X", "RequestingPhysician"},
  {0x0032, 0x1033, "X", "RequestingService"},
  {0x0032, 0x1060, "X/Z", "RequestedProcedureDescription"},
  {0x0032, 0x1070, "X", "RequestedContrastAgent"},
  {0x0032, 0x4000, "X", "StudyComments"},
  {0x0038, 0x0004, "X", "ReferencedPatientAliasSequence"},
  {0x0038, 0x0010, "X", "AdmissionID"},
  {0x0038, 0x0011, "X", "IssuerOfAdmissionID"},
  {0x0038, 0x001E, "X", "ScheduledPatientInstitutionResidence"},
  {0x0038, 0x0020, "X", "AdmittingDate"},
  {0x0038, 0x0021, "X", "AdmittingTime"},
  {0x0038, 0x0040, "X", "DischargeDiagnosisDescription"},
  {0x0038, 0x0050, "X", "SpecialNeeds"},
  {0x0038, 0x0060, "X", "ServiceEpisodeID"},
  {0x0038, 0x0061, "X", "IssuerOfServiceEpisodeID"},
  {0x0038, 0x0062, "X", "ServiceEpisodeDescription"},
  {0x0038, 0x0300, "X", "CurrentPatientLocation"},
  {0x0038, 0x0400, "X", "PatientInstitutionResidence"},
  {0x0038, 0x0500, "X", "PatientState"},
  {0x0038, 0x4000, "X", "VisitComments"},
  {0x0040, 0x0001, "X", "ScheduledStationAETitle"},
  {0x0040, 0x0002, "X", "ScheduledProcedureStepStartDate"},
  {0x0040, 0x0003, "X", "ScheduledProcedureStepStartTime"},
  {0x0040, 0x0004, "X", "ScheduledProcedureStepEndDate"},
  {0x0040, 0x0005, "X", "ScheduledProcedureStepEndTime"},
  {0x0040, 0x0006, "X", "ScheduledPerformingPhysicianName"},
  {0x0040, 0x0007, "X", "ScheduledProcedureStepDescription"},
  {0x0040, 0x000B, "X", "ScheduledPerformingPhysicianIdentificationSequence"},
  {0x0040, 0x0010, "X", "ScheduledStationName"},
  {0x0040, 0x0011, "X", "ScheduledProcedureStepLocation"},
  {0x0040, 0x0012, "X", "PreMedication"},
  {0x0040, 0x0241, "X", "PerformedStationAETitle"},
  {0x0040, 0x0242, "X", "PerformedStationName"},
  {0x0040, 0x0243, "X", "PerformedLocation"},
  {0x0040, 0x0244, "X", "PerformedProcedureStepStartDate"},
  {0x0040, 0x0245, "X", "PerformedProcedureStepStartTime"},
  {0x0040, 0x0250, "X", "PerformedProcedureStepEndDate"},
  {0x0040, 0x0251, "X", "PerformedProcedureStepEndTime"},
  {0x0040, 0x0253, "X", "PerformedProcedureStepID"},
  {0x0040, 0x0254, "X", "PerformedProcedureStepDescription"},
  {0x0040, 0x0275, "X", "RequestAttributesSequence"},
  {0x0040, 0x0280, "X", "CommentsOnThePerformedProcedureStep"},
  {0x0040, 0x0555, "X", "AcquisitionContextSequence"},
  {0x0040, 0x1001, "X", "RequestedProcedureID"},
  {0x0040, 0x1004, "X", "PatientTransportArrangements"},
  {0x0040, 0x1005, "X", "RequestedProcedureLocation"},
  {0x0040, 0x1010, "X", "NamesOfIntendedRecipientsOfResults"},
  {0x0040, 0x1011, "X", "IntendedRecipientsOfResultsIdentificationSequence"},
  {0x0040, 0x1101, "D", "PersonIdentificationCodeSequence"},
  {0x0040, 0x1102, "X", "PersonAddress"},
  {0x0040, 0x1103, "X", "PersonTelephoneNumbers"},
  {0x0040, 0x1400, "X", "RequestedProcedureComments"},
  {0x0040, 0x2001, "X", "ReasonForTheImagingServiceRequest"},
  {0x0040, 0x2008, "X", "OrderEnteredBy"},
  {0x0040, 0x2009, "X", "OrderEntererLocation"},
  {0x0040, 0x2010, "X", "OrderCallbackPhoneNumber"},
  {0x0040, 0x2016, "Z", "PlacerOrderNumberImagingServiceRequest"},
  {0x0040, 0x2017, "Z", "FillerOrderNumberImagingServiceRequest"},
  {0x0040, 0x2400, "X", "ImagingServiceRequestComments"},
  {0x0040, 0x3001, "X", "ConfidentialityConstraintOnPatientDataDescription"},
  {0x0040, 0x4025, "X", "ScheduledStationNameCodeSequence"},
  {0x0040, 0x4027, "X", "ScheduledStationGeographicLocationCodeSequence"},
  {0x0040, 0x4028, "X", "PerformedStationNameCodeSequence"},
  {0x0040, 0x4030, "X", "PerformedStationGeographicLocationCodeSequence"},
  {0x0040, 0x4034, "X", "ScheduledHumanPerformersSequence"},
  {0x0040, 0x4035, "X", "ActualHumanPerformersSequence"},
  {0x0040, 0x4036, "X", "HumanPerformerOrganization"},
  {0x0040, 0x4037, "X", "HumanPerformerName"},
  {0x0040, 0xA027, "X", "VerifyingOrganization"},
  {0x0040, 0xA073, "D", "VerifyingObserverSequence"},
  {0x0040, 0xA075, "D", "VerifyingObserverName"},
  {0x0040, 0xA078, "X", "AuthorObserverSequence"},
  {0x0040, 0xA07A, "X", "ParticipantSequence"},
  {0x0040, 0xA07C, "X", "CustodialOrganizationSequence"},
  {0x0040, 0xA088, "Z", "VerifyingObserverIdentificationCodeSequence"},
  {0x0040, 0xA123, "D", "PersonName"},
  {0x0040, 0xA730, "X", "ContentSequence"},
  {0x0070, 0x0001, "D", "GraphicAnnotationSequence"},
  {0x0070, 0x0084, "Z", "ContentCreatorName"},
  {0x0070, 0x0086, "X", "ContentCreatorIdentificationCodeSequence"},
  {0x0088, 0x0200, "X", "IconImageSequence"},
  {0x0088, 0x0904, "X", "TopicTitle"},
  {0x0088, 0x0906, "X", "TopicSubject"},
  {0x0088, 0x0910, "X", "TopicAuthor"},
  {0x0088, 0x0912, "X", "TopicKeywords"},
  {0x0400, 0x0100, "X", "DigitalSignatureUID"},
  {0x0400, 0x0402, "X", "ReferencedDigitalSignatureSequence"},
  {0x0400, 0x0403, "X", "ReferencedSOPInstanceMACSequence"},
  {0x0400, 0x0404, "X", "MAC"},
  {0x0400, 0x0550, "X", "ModifiedAttributesSequence"},
  {0x0400, 0x0561, "X", "OriginalAttributesSequence"},
  {0x2030, 0x0020, "X", "TextString"},
  {0x300E, 0x0008, "X/Z", "ReviewerName"},
  {0x4000, 0x0010, "X", "Arbitrary"},
  {0x4000, 0x4000, "X", "TextComments"},
  {0x4008, 0x0042, "X", "ResultsIDIssuer"},
  {0x4008, 0x0102, "X", "InterpretationRecorder"},
  {0x4008, 0x010A, "X", "InterpretationTranscriber"},
  {0x4008, 0x010B, "X", "InterpretationText"},
  {0x4008, 0x010C, "X", "InterpretationAuthor"},
  {0x4008, 0x0111, "X", "InterpretationApproverSequence"},
  {0x4008, 0x0114, "X", "PhysicianApprovingInterpretation"},
  {0x4008, 0x0115, "X", "InterpretationDiagnosisDescription"},
  {0x4008, 0x0118, "X", "ResultsDistributionListSequence"},
  {0x4008, 0x0119, "X", "DistributionName"},
  {0x4008, 0x011A, "X", "DistributionAddress"},
  {0x4008, 0x0202, "X", "InterpretationIDIssuer"},
  {0x4008, 0x0300, "X", "Impressions"},
  {0x4008, 0x4000, "X", "ResultsComments"},
  {0xFFFA, 0xFFFA, "X", "DigitalSignaturesSequence"},
  {0xFFFC, 0xFFFC, "X", "DataSetTrailingPadding"},
};
// clang-format on

// UIDs that name things rather than identify them (SOP classes, transfer syntaxes, coding
// schemes, ...). Values that DCMTK's UID dictionary knows are kept as well, wherever they
// occur; every other UID identifies an instance, series, study, device or frame of
// reference and is replaced.
constexpr std::array<std::pair<std::uint16_t, std::uint16_t>, 15> k_kept_uid_tags{{
    {0x0000, 0x0002},  // AffectedSOPClassUID
    {0x0000, 0x0003},  // RequestedSOPClassUID
    {0x0002, 0x0002},  // MediaStorageSOPClassUID
    {0x0002, 0x0010},  // TransferSyntaxUID
    {0x0002, 0x0012},  // ImplementationClassUID
    {0x0004, 0x1510},  // ReferencedSOPClassUIDInFile
    {0x0004, 0x1512},  // ReferencedTransferSyntaxUIDInFile
    {0x0004, 0x151A},  // ReferencedRelatedGeneralSOPClassUIDInFile
    {0x0008, 0x0016},  // SOPClassUID
    {0x0008, 0x001A},  // RelatedGeneralSOPClassUID
    {0x0008, 0x001B},  // OriginalSpecializedSOPClassUID
    {0x0008, 0x0062},  // SOPClassesInStudy
    {0x0008, 0x010C},  // CodingSchemeUID
    {0x0008, 0x0117},  // ContextUID
    {0x0008, 0x1150},  // ReferencedSOPClassUID
}};

// The UID attributes of Table E.1-1 (action U), by tag: they are replaced whatever VR they
// arrive with, so that one encoded as UN (the dictionary of a system it passed through did
// not know it) is replaced all the same. Other attributes of VR UI are replaced too, unless
// kept above; this list covers those that DCMTK's dictionary may not know as UI.
// clang-format off
constexpr std::array<std::pair<std::uint16_t, std::uint16_t>, 40> k_uid_tags{{
    {0x0000, 0x1000},  // AffectedSOPInstanceUID
    {0x0002, 0x0003},  // MediaStorageSOPInstanceUID
    {0x0004, 0x1511},  // ReferencedSOPInstanceUIDInFile
    {0x0008, 0x0014},  // InstanceCreatorUID
    {0x0008, 0x0018},  // SOPInstanceUID
    {0x0008, 0x0058},  // FailedSOPInstanceUIDList
    {0x0008, 0x1155},  // ReferencedSOPInstanceUID
    {0x0008, 0x1195},  // TransactionUID
    {0x0008, 0x3010},  // IrradiationEventUID
    {0x0018, 0x1002},  // DeviceUID
    {0x0018, 0x2042},  // TargetUID
    {0x0020, 0x000D},  // StudyInstanceUID
    {0x0020, 0x000E},  // SeriesInstanceUID
    {0x0020, 0x0052},  // FrameOfReferenceUID
    {0x0020, 0x0200},  // SynchronizationFrameOfReferenceUID
    {0x0020, 0x9161},  // ConcatenationUID
    {0x0020, 0x9164},  // DimensionOrganizationUID
    {0x0028, 0x1199},  // PaletteColorLookupTableUID
    {0x0028, 0x1214},  // LargePaletteColorLookupTableUID
    {0x0040, 0x4023},  // ReferencedGeneralPurposeScheduledProcedureStepTransactionUID
    {0x0040, 0xA124},  // UID
    {0x0040, 0xA171},  // ObservationUID
    {0x0040, 0xA172},  // ReferencedObservationUIDTrial
    {0x0040, 0xA402},  // ObservationSubjectUIDTrial
    {0x0040, 0xDB0C},  // TemplateExtensionOrganizationUID
    {0x0040, 0xDB0D},  // TemplateExtensionCreatorUID
    {0x0062, 0x0021},  // TrackingUID
    {0x0070, 0x031A},  // FiducialUID
    {0x0070, 0x1101},  // PresentationDisplayCollectionUID
    {0x0070, 0x1102},  // PresentationSequenceCollectionUID
    {0x0088, 0x0140},  // StorageMediaFileSetUID
    {0x3006, 0x0024},  // ReferencedFrameOfReferenceUID
    {0x3006, 0x00C2},  // RelatedFrameOfReferenceUID
    {0x300A, 0x0013},  // DoseReferenceUID
    {0x300A, 0x0083},  // ReferencedDoseReferenceUID
    {0x3010, 0x0006},  // ConceptualVolumeUID
    {0x3010, 0x000B},  // ReferencedConceptualVolumeUID
    {0x3010, 0x0013},  // ConstituentConceptualVolumeUID
    {0x3010, 0x0015},  // SourceConceptualVolumeUID
    {0x3010, 0x006E},  // DosimetricObjectiveUID
}};
// clang-format on

enum class Action { remove, empty, dummy, replace_uid, keep };

// Where the profile leaves a choice, take the one that keeps the object valid whatever the
// attribute's type in its IOD: a dummy over removal when D is allowed (a Type 1 attribute
// must stay non-empty), an empty value over removal for X/Z (Type 2 must stay present).
// For X/Z/U* the referencing sequence stays and the UIDs inside are replaced.
Action resolve(std::string_view code) {
  if (code == "X") return Action::remove;
  if (code == "Z" || code == "X/Z") return Action::empty;
  if (code == "U" || code == "X/Z/U*") return Action::replace_uid;
  return Action::dummy;  // D, X/D, Z/D, X/Z/D
}

constexpr std::uint32_t key_of(std::uint16_t group, std::uint16_t element) {
  return std::uint32_t(group) << 16 | element;
}

constexpr bool sorted_by_tag() {
  for (std::size_t i = 1; i < std::size(k_profile); ++i) {
    if (key_of(k_profile[i - 1].group, k_profile[i - 1].element) >=
        key_of(k_profile[i].group, k_profile[i].element))
      return false;
  }
  return true;
}
static_assert(sorted_by_tag(), "k_profile is searched by bisection: keep it in tag order");

const Rule* find_rule(const DcmTagKey& tag) {
  const std::uint32_t key = key_of(tag.getGroup(), tag.getElement());
  const Rule* it = std::lower_bound(
      std::begin(k_profile), std::end(k_profile), key,
      [](const Rule& r, std::uint32_t k) { return key_of(r.group, r.element) < k; });
  return it != std::end(k_profile) && key_of(it->group, it->element) == key ? it : nullptr;
}

// Repeating groups of the profile: curves (50xx,xxxx), overlay data and comments
// (60xx,3000) and (60xx,4000); all X.
bool in_removed_repeating_group(const DcmTagKey& tag) {
  const std::uint16_t g = tag.getGroup();
  if ((g & 0xFF00) == 0x5000) return true;
  return (g & 0xFF00) == 0x6000 && (tag.getElement() == 0x3000 || tag.getElement() == 0x4000);
}

bool keeps_uid(const DcmTagKey& tag, const std::string& value) {
  for (const auto& [group, element] : k_kept_uid_tags) {
    if (tag.getGroup() == group && tag.getElement() == element) return true;
  }
  return dcmFindNameOfUID(value.c_str()) != nullptr;
}

bool is_uid_tag(const DcmTagKey& tag) {
  for (const auto& [group, element] : k_uid_tags) {
    if (tag.getGroup() == group && tag.getElement() == element) return true;
  }
  return false;
}

// The VR an element is to be treated as: its own, or for one that arrived as UN the VR the
// data dictionary (or the profile's list of UID attributes) gives its tag.
DcmEVR effective_vr(DcmElement& element) {
  const DcmEVR vr = element.getTag().getEVR();
  if (vr != EVR_UN) return vr;
  const DcmTagKey key = element.getTag();
  if (is_uid_tag(key)) return EVR_UI;
  const DcmEVR known = DcmTag(key.getGroup(), key.getElement()).getEVR();
  return known == EVR_UNKNOWN || known == EVR_UNKNOWN2B ? EVR_UN : known;
}

// The bytes of a UN value as text, padding trimmed.
std::string un_text(DcmElement& element) {
  Uint8* data = nullptr;
  if (element.getUint8Array(data).bad() || data == nullptr) return {};
  std::string text(reinterpret_cast<const char*>(data), element.getLength());
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

// A new, empty element of `vr` (the dictionary's) for `tag`, to replace a UN one.
std::unique_ptr<DcmElement> typed_element(const DcmTagKey& tag, DcmEVR vr) {
  DcmElement* created = nullptr;
  DcmTag typed(tag);
  typed.setVR(DcmVR(vr));
  if (DcmItem::newDicomElementWithVR(created, typed).bad() || created == nullptr) {
    throw Error(ErrorKind::internal,
                "cannot anonymize attribute " + std::string(tag.toString().c_str()));
  }
  return std::unique_ptr<DcmElement>(created);
}

std::string dummy_for(DcmEVR vr) {
  switch (vr) {
    case EVR_DA:
      return "19000101";
    case EVR_TM:
      return "000000";
    case EVR_DT:
      return "19000101000000";
    case EVR_AS:
      return "000Y";
    case EVR_PN:
      return "ANONYMOUS";
    case EVR_DS:
    case EVR_IS:
    case EVR_US:
    case EVR_SS:
    case EVR_UL:
    case EVR_SL:
    case EVR_FL:
    case EVR_FD:
      return "0";
    default:
      return "ANONYMIZED";
  }
}

std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('\\', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  const std::size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : s.substr(start);
}

void check(const OFCondition& cond, const DcmTagKey& tag) {
  if (cond.bad()) {
    throw Error(ErrorKind::internal, "cannot anonymize attribute " +
                                         std::string(tag.toString().c_str()) + ": " + cond.text());
  }
}

// "2.25." followed by a random 128-bit number in decimal, the UUID-derived form of PS3.5
// B.2 that needs no registered organisation root.
std::string random_uid(std::mt19937_64& random) {
  std::array<std::uint32_t, 4> limbs{};
  for (std::size_t i = 0; i < limbs.size(); i += 2) {
    const std::uint64_t bits = random();
    limbs[i] = static_cast<std::uint32_t>(bits >> 32);
    limbs[i + 1] = static_cast<std::uint32_t>(bits);
  }
  std::string digits;
  while (std::any_of(limbs.begin(), limbs.end(), [](std::uint32_t v) { return v != 0; })) {
    std::uint64_t remainder = 0;
    for (auto& limb : limbs) {  // most significant limb first
      const std::uint64_t value = (remainder << 32) | limb;
      limb = static_cast<std::uint32_t>(value / 10);
      remainder = value % 10;
    }
    digits.push_back(static_cast<char>('0' + remainder));
  }
  if (digits.empty()) digits = "0";
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

// A generator seeded with 256 bits from the system once per export: opening std::random_device
// for every UID cost 25 microseconds each, most of the time of a large export.
std::mt19937_64 seeded() {
  std::random_device device;
  std::array<std::uint32_t, 8> seed{};
  for (auto& word : seed) word = device();
  std::seed_seq sequence(seed.begin(), seed.end());
  return std::mt19937_64(sequence);
}

}  // namespace

Anonymizer::Anonymizer() : m_random(seeded()) {}

std::string Anonymizer::replacement_uid(const std::string& uid) {
  auto [it, inserted] = m_uids.try_emplace(uid);
  if (inserted) it->second = random_uid(m_random);
  return it->second;
}

std::string Anonymizer::pseudonym(const std::string& patient_id) {
  auto [it, inserted] = m_patients.try_emplace(patient_id);
  if (inserted) {
    // Random rather than numbered, so that two exports into one directory cannot merge
    // different patients under the same pseudonym.
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string id = "ANON-";
    std::uint64_t bits = m_random();
    for (int i = 0; i < 12; ++i, bits >>= 4) id.push_back(k_hex[bits & 0xF]);
    it->second = id;
  }
  return it->second;
}

void Anonymizer::process(DcmItem& item, unsigned depth) {
  // DCMTK keeps an item's elements in a linked list where getElement(i) and remove(i) walk
  // from the start, which made one pass over an item quadratic. Taking elements off the front
  // is O(1), and so is putting back the ones that stay, in the tag order they came in.
  std::vector<std::unique_ptr<DcmElement>> kept;
  kept.reserve(item.card());
  while (item.card() > 0) {
    std::unique_ptr<DcmElement> element(item.remove(0UL));
    if (element == nullptr) break;
    if (auto cleaned = clean(std::move(element), depth)) kept.push_back(std::move(cleaned));
  }
  for (auto& element : kept) {
    check(item.insert(element.get(), OFFalse, OFFalse), element->getTag());
    (void)element.release();  // the item owns it now
  }
}

std::unique_ptr<DcmElement> Anonymizer::clean(std::unique_ptr<DcmElement> element, unsigned depth) {
  const DcmTagKey tag = element->getTag();
  if (tag.getGroup() % 2 == 1 || in_removed_repeating_group(tag)) return nullptr;
  const Rule* rule = find_rule(tag);
  const Action action = rule ? resolve(rule->action) : Action::keep;
  if (depth == 0 && (tag == DCM_PatientName || tag == DCM_PatientID)) return element;  // apply()
  if (action == Action::remove) return nullptr;

  // Attributes are known by their tag, not by the VR they came with: a UN element is
  // treated as what the dictionary says its tag is.
  const bool unknown = element->getTag().getEVR() == EVR_UN;
  const DcmEVR vr = effective_vr(*element);
  if (unknown && vr == EVR_SQ) {
    element = parse_un_sequence(*element, depth);
    if (element == nullptr) return nullptr;  // what cannot be read cannot be kept
  }
  const bool is_sequence = element->ident() == EVR_SQ;

  if (action == Action::empty) {
    if (is_sequence) {
      auto* sequence = static_cast<DcmSequenceOfItems*>(element.get());
      while (sequence->card() > 0) delete sequence->remove(0UL);
    } else if (unknown && vr != EVR_UN) {
      element = typed_element(tag, vr);
    } else {
      check(element->clear(), tag);
    }
    return element;
  }
  if (is_sequence) {
    // D on a sequence means "replace with a dummy sequence"; cleaning its items with the
    // same rules gives one that still has the structure the IOD asks for. Items are visited
    // through the list's cursor: getItem(n) walks from the first item each time.
    if (depth + 1 > k_max_sequence_depth) {
      throw Error(ErrorKind::invalid_input, m_label + ": sequences nested more than " +
                                                std::to_string(k_max_sequence_depth) +
                                                " levels deep: refusing to anonymize it");
    }
    auto* sequence = static_cast<DcmSequenceOfItems*>(element.get());
    std::size_t items = 0;
    for (DcmObject* it = sequence->nextInContainer(nullptr); it != nullptr;
         it = sequence->nextInContainer(it)) {
      if ((++items & 0x3ff) == 0) throw_if_interrupted("nothing was written");  // 300 000 items take a while
      process(*static_cast<DcmItem*>(it), depth + 1);
    }
    return element;
  }
  if (vr == EVR_UI) {
    std::string value;
    if (unknown) {
      value = un_text(*element);
    } else {
      OFString text;
      if (element->getOFStringArray(text).bad()) return element;
      value.assign(text.c_str(), text.length());
    }
    if (value.empty()) return element;
    std::string replaced;
    bool changed = false;
    const std::vector<std::string> parts = split_values(value);
    for (std::size_t n = 0; n < parts.size(); ++n) {
      const std::string uid = trim(parts[n]);
      if (n > 0) replaced += '\\';
      if (uid.empty() || keeps_uid(tag, uid)) {
        replaced += uid;
      } else {
        replaced += replacement_uid(uid);
        changed = true;
      }
    }
    if (changed) {
      if (unknown) element = typed_element(tag, EVR_UI);
      check(element->putString(replaced.c_str()), tag);
    }
    return element;
  }
  if (action == Action::dummy) {
    if (unknown && vr != EVR_UN) element = typed_element(tag, vr);
    // A binary value (OB, OW, UN, ...) has no meaningful dummy; an empty one is the
    // closest valid replacement.
    const bool binary_number = vr == EVR_US || vr == EVR_SS || vr == EVR_UL || vr == EVR_SL ||
                               vr == EVR_FL || vr == EVR_FD;
    if (vr != EVR_UN && (DcmVR(vr).isaString() || binary_number)) {
      check(element->putString(dummy_for(vr).c_str()), tag);
    } else {
      check(element->clear(), tag);
    }
  }
  return element;
}

std::unique_ptr<DcmElement> Anonymizer::parse_un_sequence(DcmElement& element, unsigned depth) {
  const DcmTagKey tag = element.getTag();
  const Uint32 length = element.getLength();
  Uint8* data = nullptr;
  if (length == 0) return typed_element(tag, EVR_SQ);
  if (element.getUint8Array(data).bad() || data == nullptr) return nullptr;
  // A UN value is encoded in implicit VR little endian (PS3.5 6.2.2): parse it as the value of
  // an element of that encoding, bounded like any file.
  check_nesting_implicit({data, length}, depth, m_label);
  std::string bytes;
  bytes.reserve(8 + std::size_t(length));
  for (const unsigned v : {unsigned(tag.getGroup()), unsigned(tag.getElement())}) {
    bytes.push_back(static_cast<char>(v & 0xFF));
    bytes.push_back(static_cast<char>(v >> 8));
  }
  for (int shift = 0; shift < 32; shift += 8)
    bytes.push_back(static_cast<char>((length >> shift) & 0xFF));
  bytes.append(reinterpret_cast<const char*>(data), length);
  GuardedBufferStream in;
  in.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  in.setEos();
  DcmDataset holder;
  holder.transferInit();
  const OFCondition cond = holder.read(in, EXS_LittleEndianImplicit, EGL_noChange);
  holder.transferEnd();
  if (in.tripped() || cond.bad()) return nullptr;
  std::unique_ptr<DcmElement> parsed(holder.remove(tag));
  if (parsed == nullptr || parsed->ident() != EVR_SQ) return nullptr;
  return parsed;
}

void Anonymizer::apply(DcmDataset& dataset, const std::string& label) {
  m_label = label;
  const std::string alias = pseudonym(get_string(dataset, DCM_PatientID));

  process(dataset, 0);

  // The profile says Z for both; a pseudonym instead keeps one export's files of one
  // patient together (and in one directory) without saying who the patient is.
  check(dataset.putAndInsertString(DCM_PatientName, alias.c_str()), DCM_PatientName);
  check(dataset.putAndInsertString(DCM_PatientID, alias.c_str()), DCM_PatientID);
  check(dataset.putAndInsertString(DCM_PatientIdentityRemoved, "YES"), DCM_PatientIdentityRemoved);
  check(
      dataset.putAndInsertString(DCM_DeidentificationMethod,
                                 "PS3.15 Annex E Basic Application Level Confidentiality Profile"),
      DCM_DeidentificationMethod);
  DcmItem* code = nullptr;
  check(dataset.findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, code, -2),
        DCM_DeidentificationMethodCodeSequence);
  // -2 appends; a source that was already de-identified keeps its earlier method codes.
  check(code->putAndInsertString(DCM_CodeValue, "113100"), DCM_CodeValue);
  check(code->putAndInsertString(DCM_CodingSchemeDesignator, "DCM"), DCM_CodingSchemeDesignator);
  check(code->putAndInsertString(DCM_CodeMeaning, "Basic Application Confidentiality Profile"),
        DCM_CodeMeaning);
}

}  // namespace wfctl::dicom::detail
